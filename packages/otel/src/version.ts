/** Instrumentation scope of llmux's spans. */
export const TRACER_NAME = "@llmux/otel";
export const TRACER_VERSION = "0.1.0";
