export * as attributes from "./attributes";
export { createCallTracer } from "./call-tracer";
export { isLlmuxOtelError, LlmuxOtelError, type OtelErrorKind } from "./errors";
export {
  type HttpSpanExporterOptions,
  LANGFUSE_OTEL_PATH,
  langfuseExporter,
  OtlpHttpSpanExporter,
  otlpExporter,
  parseOtlpHeaders,
} from "./exporters";
export { feedbackRoute } from "./feedback-route";
export { LANGFUSE_SCORES_PATH, langfuseFeedback } from "./langfuse-feedback";
export { createPlugin, PLUGIN_NAMES } from "./plugin";
export {
  type AddSpanExporterOptions,
  addSpanExporter,
  droppedSpans,
  type ExporterHandle,
  flushTracing,
  getSharedCallTracer,
  type SharedCallTracerOptions,
  tracingStats,
} from "./registry";
export { exportersFromEnvironment, setupTracing } from "./setup-tracing";
export type {
  BatchOptions,
  CallTracerOptions,
  CallTracerStats,
  Environment,
  ExporterStats,
  LangfuseExporterOptions,
  LangfuseFeedback,
  LangfuseFeedbackOptions,
  LlmuxCallTracer,
  OtlpExporterOptions,
  OtlpProtocol,
  RecordedCall,
  ScoreDataType,
  ScoreInput,
  SetupTracingOptions,
  TracingHandle,
} from "./types";
export { isUntracedRequest } from "./untraced-requests";
