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
export { createPlugin, optionsFromContext } from "./create-plugin";
export { isPrometheusError, type PrometheusError, type PrometheusErrorKind } from "./errors";
export { OTHER_LABEL_VALUE } from "./label-guard";
export { prometheusPlugin } from "./prometheus-plugin";
export type { MetricsAuth, MetricsAuthCheck, PrometheusPlugin, PrometheusPluginOptions } from "./types";
