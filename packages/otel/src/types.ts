/**
 * Public types of @llmux/otel.
 */
import type { IncomingMessage } from "node:http";
import type { CallTracer, Logger } from "@llmux/callbacks";
import type { Tracer, TracerProvider } from "@opentelemetry/api";
import type { Sampler, SpanExporter } from "@opentelemetry/sdk-trace-base";

export type Environment = Record<string, string | undefined>;

export interface CallTracerOptions {
  /** Tracer to create spans with. Default: the global tracer provider's `@llmux/otel` tracer. */
  tracer?: Tracer;
  /** Record prompts and responses (`gen_ai.input.messages`, `mlflow.spanInputs`, ...). Default false. */
  captureContent?: boolean;
  /** `langfuse.environment` on every call span. */
  environment?: string;
  /** `langfuse.release` on every call span. */
  release?: string;
  /**
   * Vendor attribute families to write. Default: both. `langfuse: false` leaves out the `langfuse.*`
   * keys (and environment/release, which are Langfuse keys), `mlflow: false` the `mlflow.*` keys
   * (span type, token usage, cost, span inputs/outputs). The shared tracer of
   * `getSharedCallTracer()` decides this from the registered exporters instead.
   */
  vendorAttributes?: { langfuse?: boolean; mlflow?: boolean };
  /** How many recent callId → trace/span ids to remember for feedback (default 10 000). */
  maxRecentCalls?: number;
}

/** The ids under which a finished call was exported. */
export interface RecordedCall {
  traceId: string;
  spanId: string;
}

export interface CallTracerStats {
  started: number;
  ended: number;
  /** Internal errors swallowed by the tracer (a span could not be started or ended). */
  errors: number;
}

/** A `CallTracer` that also remembers recent calls (for feedback) and counts its own errors. */
export interface LlmuxCallTracer extends CallTracer {
  lookupCall(callId: string): RecordedCall | undefined;
  stats(): CallTracerStats;
}

/** Bounds of the batching span processor llmux puts in front of every exporter. */
export interface BatchOptions {
  /** Spans buffered per exporter before new ones are dropped (default 2048). */
  maxQueueSize?: number;
  /** Spans per export request (default 512). */
  maxExportBatchSize?: number;
  /** Delay before a partial batch is sent (default 1000 ms). */
  scheduledDelayMillis?: number;
  /** An export still pending after this is given up and its spans counted as dropped (default 30 000 ms). */
  exportTimeoutMillis?: number;
}

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface OtlpExporterOptions {
  /** Full traces URL. Default from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces", else http://localhost:4318/v1/traces. */
  url?: string;
  /** Extra headers. Default from OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS. */
  headers?: Record<string, string>;
  /** Default from OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL, else "http/protobuf". */
  protocol?: OtlpProtocol;
  /** Per-request timeout (default 10 000 ms; the exporter retries 429/502/503/504 and network errors with backoff). */
  timeoutMillis?: number;
  compression?: "gzip" | "none";
  /** Where to read OTEL_* variables (default process.env). */
  env?: Environment;
}

export interface LangfuseExporterOptions {
  /** Default LANGFUSE_BASE_URL, else LANGFUSE_HOST, else https://cloud.langfuse.com. */
  baseUrl?: string;
  /** Default LANGFUSE_PUBLIC_KEY. */
  publicKey?: string;
  /** Default LANGFUSE_SECRET_KEY. */
  secretKey?: string;
  protocol?: OtlpProtocol;
  timeoutMillis?: number;
  compression?: "gzip" | "none";
  env?: Environment;
}

/** Per-exporter delivery counts. */
export interface ExporterStats {
  exporter: string;
  /** Spans waiting in the queue. */
  queued: number;
  /** Spans the exporter reported as delivered. */
  exported: number;
  /** Spans dropped because the queue was full. */
  droppedQueueFull: number;
  /** Spans lost in failed or timed-out exports (after the exporter's own retries). */
  droppedExportFailed: number;
  /** Spans still queued or in an unanswered export when the shutdown deadline came. */
  droppedShutdown: number;
}

export interface SetupTracingOptions {
  /** service.name of the resource (default OTEL_SERVICE_NAME, else "llmux"). */
  serviceName?: string;
  /** Exporters to add. Default: Langfuse when LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are set, OTLP when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set. */
  exporters?: SpanExporter[];
  /** Register http/express/koa/nestjs instrumentations when llmux registers the global provider (default true). */
  instrumentations?: boolean;
  /**
   * Incoming requests that get no trace (the http instrumentation's `ignoreIncomingRequestHook`).
   * Default `isUntracedRequest`: health probes, `HEAD /` and llmux's `POST …/feedback`. Pass
   * `() => false` to trace every request.
   */
  ignoreIncomingRequest?: (request: IncomingMessage) => boolean;
  /** Where to read environment variables (default process.env). */
  env?: Environment;
  batch?: BatchOptions;
  /** Sampler of the provider llmux creates (default parent-based always-on). */
  sampler?: Sampler;
}

export interface TracingHandle {
  /** The provider llmux's call spans go through (the registered global one when llmux registered it). */
  readonly tracerProvider: TracerProvider;
  /** true when the host already had a global tracer provider, which llmux left untouched. */
  readonly hostProvider: boolean;
  flush(): Promise<void>;
  /**
   * Flushes, removes llmux's exporters and undoes the global registrations. With `options.deadline`
   * (epoch ms) it resolves by then: spans not delivered are counted as dropped at shutdown and logged.
   */
  shutdown(options?: { deadline?: number }): Promise<void>;
  droppedSpans(): number;
  stats(): ExporterStats[];
}

export type ScoreDataType = "NUMERIC" | "CATEGORICAL" | "BOOLEAN";

export interface ScoreInput {
  traceId: string;
  observationId?: string;
  name: string;
  value: number | string | boolean;
  comment?: string;
  /** Default: BOOLEAN for booleans, CATEGORICAL for strings, NUMERIC for numbers. */
  dataType?: ScoreDataType;
}

export interface LangfuseFeedbackOptions {
  baseUrl: string;
  publicKey: string;
  secretKey: string;
  /** Default 10 000 ms. */
  timeoutMillis?: number;
  /**
   * Langfuse environment of the scores (as `langfuse.environment` of the traces they score); a
   * function is read at each score, so the plugin's tracer settings are followed.
   */
  environment?: string | (() => string | undefined);
  /** Where an outage of the scores API and its recovery are logged (default: stderr). */
  logger?: Logger;
}

export interface LangfuseFeedback {
  /** Records a score through POST {baseUrl}/api/public/scores; resolves with Langfuse's score id. */
  score(input: ScoreInput): Promise<{ id?: string }>;
}
