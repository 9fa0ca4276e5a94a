/**
 * MLflow's runs/log-batch request limits (REST API reference, "Request Limits"): at most 1000
 * metrics, 100 params and 100 tags per request, 1000 items in total, and 1 MB of JSON. Tag keys
 * up to 250 characters and values up to 5000 are accepted by every backend store.
 */
export const LOG_BATCH_MAX_METRICS = 1000;
export const LOG_BATCH_MAX_PARAMS = 100;
export const LOG_BATCH_MAX_TAGS = 100;
export const LOG_BATCH_MAX_TOTAL = 1000;
export const TAG_KEY_MAX_CHARS = 250;
export const TAG_VALUE_MAX_CHARS = 5000;

export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface LogBatchContent {
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
}

/** Splits any amount of metrics, params and tags into log-batch requests that each respect the limits. */
export function splitLogBatch(content: LogBatchContent): LogBatchContent[] {
  const requests: LogBatchContent[] = [];
  let metric = 0;
  let param = 0;
  let tag = 0;
  while (metric < content.metrics.length || param < content.params.length || tag < content.tags.length) {
    const tags = content.tags.slice(tag, tag + LOG_BATCH_MAX_TAGS);
    const params = content.params.slice(param, param + LOG_BATCH_MAX_PARAMS);
    const room = Math.min(LOG_BATCH_MAX_METRICS, LOG_BATCH_MAX_TOTAL - tags.length - params.length);
    const metrics = content.metrics.slice(metric, metric + room);
    tag += tags.length;
    param += params.length;
    metric += metrics.length;
    requests.push({ metrics, params, tags });
  }
  return requests;
}

/** A tag within MLflow's size limits (long values are cut, never refused). */
export function tag(key: string, value: string): KeyValue {
  return { key: key.slice(0, TAG_KEY_MAX_CHARS), value: value.slice(0, TAG_VALUE_MAX_CHARS) };
}
