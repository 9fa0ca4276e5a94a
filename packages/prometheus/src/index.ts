/**
 * @llmux/prometheus: prom-client metrics for every llmux call, a `/metrics` handler, and the
 * `createPlugin` factory the gateway uses for `litellm_settings.callbacks: [prometheus]`.
 */
export {
  OPERATION_DURATION_BUCKETS,
  OVERHEAD_DURATION_BUCKETS,
  TIME_TO_FIRST_TOKEN_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from "./buckets";
export { createPlugin, optionsFromContext, PROMETHEUS_SETTINGS } from "./create-plugin";
export { isPrometheusError, type PrometheusError, type PrometheusErrorKind } from "./errors";
export { OTHER_LABEL_VALUE } from "./label-guard";
export { LITELLM_LABELS, LITELLM_LATENCY_BUCKETS } from "./litellm-metrics";
export { prometheusPlugin } from "./prometheus-plugin";
export type {
  BudgetMetrics,
  KeyBudget,
  KeyModelLimits,
  MetricNames,
  MetricsAuth,
  MetricsAuthCheck,
  PrometheusPlugin,
  PrometheusPluginOptions,
  TeamBudget,
} from "./types";
