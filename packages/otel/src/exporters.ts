/**
 * OTLP/HTTP span exporters for Langfuse and for any OTLP endpoint.
 *
 * Built on @opentelemetry/otlp-exporter-base's HTTP delegate (the same transport, serializers and
 * retry-with-backoff as @opentelemetry/exporter-trace-otlp-proto/-http 0.223) but configured only
 * from what llmux passes: the stock exporters also merge OTEL_EXPORTER_OTLP_HEADERS from
 * process.env into every exporter, which would send a collector's credentials to Langfuse.
 *
 * Retries: 429/502/503/504 and network errors are retried up to 5 times with exponential
 * backoff (1 s → 5 s, jitter); anything else fails the batch, which the batch processor counts.
 */
import type { ExportResult } from "@opentelemetry/core";
import { OTLPExporterBase } from "@opentelemetry/otlp-exporter-base";
import {
  createOtlpHttpExportDelegate,
  httpAgentFactoryFromOptions,
} from "@opentelemetry/otlp-exporter-base/node-http";
import {
  JsonTraceSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from "@opentelemetry/otlp-transformer";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { LlmuxOtelError } from "./errors";
import { encodeTraceExportRequest } from "./otlp-trace-encoder";
import type { Environment, LangfuseExporterOptions, OtlpExporterOptions, OtlpProtocol } from "./types";
import { TRACER_VERSION } from "./version";

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_LANGFUSE_BASE_URL = "https://cloud.langfuse.com";
/** Path of Langfuse's OTLP/HTTP trace endpoint (Langfuse OpenAPI: POST /api/public/otel/v1/traces). */
export const LANGFUSE_OTEL_PATH = "/api/public/otel/v1/traces";

export interface HttpSpanExporterOptions {
  url: string;
  headers?: Record<string, string>;
  protocol?: OtlpProtocol;
  timeoutMillis?: number;
  compression?: "gzip" | "none";
  /** Name used in stats and logs (default "otlp"). */
  name?: string;
}

/**
 * The transformer's protobuf serializer with llmux's one-pass encoder for requests (the same
 * bytes, about four times cheaper: otlp-trace-encoder.ts); responses are read by the transformer.
 */
const llmuxProtobufTraceSerializer: typeof ProtobufTraceSerializer = {
  serializeRequest: (spans) => encodeTraceExportRequest(spans),
  deserializeResponse: (bytes) => ProtobufTraceSerializer.deserializeResponse(bytes),
};

/**
 * An OTLP/HTTP span exporter that sends exactly the headers given (nothing from the environment).
 * Used by langfuseExporter, otlpExporter and the MLflow bridge.
 */
export class OtlpHttpSpanExporter implements SpanExporter {
  readonly name: string;
  /** The endpoint without credentials or query string (safe to log; headers are never exposed). */
  readonly url: string;
  readonly protocol: OtlpProtocol;
  /**
   * true for http/protobuf: llmux's encoder reads a pre-encoded span's bytes and no other part of
   * it, so llmux's call tracer may encode spans when it drains and drop their records.
   */
  readonly readsEncodedSpans: boolean;
  private readonly delegate: OTLPExporterBase<ReadableSpan[]>;

  constructor(options: HttpSpanExporterOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (error) {
      throw new LlmuxOtelError(
        "invalid_configuration",
        `OTLP exporter URL is not a valid URL: ${options.url}`,
        {
          cause: error,
        },
      );
    }
    this.url = `${url.origin}${url.pathname}`;
    this.name = options.name ?? "otlp";
    this.protocol = options.protocol ?? "http/protobuf";
    const json = this.protocol === "http/json";
    this.readsEncodedSpans = !json;
    const headers = {
      ...(options.headers ?? {}),
      "Content-Type": json ? "application/json" : "application/x-protobuf",
    };
    const timeoutMillis = options.timeoutMillis ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMillis) || timeoutMillis <= 0) {
      throw new LlmuxOtelError(
        "invalid_configuration",
        `OTLP exporter timeout must be a positive number of ms`,
      );
    }
    this.delegate = new OTLPExporterBase(
      createOtlpHttpExportDelegate(
        {
          url: options.url,
          // a fresh object per request: the transport adds User-Agent to it
          headers: async () => ({ ...headers }),
          timeoutMillis,
          concurrencyLimit: 4,
          compression: options.compression ?? "none",
          agentFactory: httpAgentFactoryFromOptions({ keepAlive: true }),
          userAgent: `llmux-otel/${TRACER_VERSION}`,
        },
        json ? JsonTraceSerializer : llmuxProtobufTraceSerializer,
        "otlp_http_span_exporter",
        TraceExporterMetricsHelper,
        undefined,
      ),
    );
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.delegate.export(spans, resultCallback);
  }

  forceFlush(): Promise<void> {
    return this.delegate.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.delegate.shutdown();
  }
}

/** Parses the OTEL_EXPORTER_OTLP_HEADERS format: `k1=v1,k2=v2` with URL-encoded values. */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!value) return headers;
  for (const pair of value.split(",")) {
    const index = pair.indexOf("=");
    if (index <= 0) continue;
    const key = pair.slice(0, index).trim();
    const raw = pair.slice(index + 1).trim();
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      decoded = raw;
    }
    if (key) headers[key] = decoded;
  }
  return headers;
}

function protocolFrom(value: string | undefined): OtlpProtocol | undefined {
  const protocol = value?.trim();
  if (protocol === "http/json") return "http/json";
  if (protocol === "http/protobuf") return "http/protobuf";
  return undefined;
}

function compressionFrom(value: string | undefined): "gzip" | "none" | undefined {
  const compression = value?.trim();
  return compression === "gzip" || compression === "none" ? compression : undefined;
}

function timeoutFrom(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? number : undefined;
}

/** The traces URL the OTEL_EXPORTER_OTLP_* variables describe (spec defaults applied). */
export function otlpTracesUrl(env: Environment): string {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return `${base.replace(/\/+$/, "")}/v1/traces`;
  return "http://localhost:4318/v1/traces";
}

/**
 * A generic OTLP/HTTP exporter configured from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
 * OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _PROTOCOL, _TIMEOUT and
 * _COMPRESSION; explicit options win. Protobuf unless http/json is asked for.
 */
export function otlpExporter(options: OtlpExporterOptions = {}): OtlpHttpSpanExporter {
  const env = options.env ?? process.env;
  const headers = {
    ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
    ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    ...(options.headers ?? {}),
  };
  return new OtlpHttpSpanExporter({
    name: "otlp",
    url: options.url ?? otlpTracesUrl(env),
    headers,
    protocol:
      options.protocol ??
      protocolFrom(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ??
      protocolFrom(env.OTEL_EXPORTER_OTLP_PROTOCOL) ??
      "http/protobuf",
    timeoutMillis:
      options.timeoutMillis ??
      timeoutFrom(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT) ??
      timeoutFrom(env.OTEL_EXPORTER_OTLP_TIMEOUT),
    compression:
      options.compression ??
      compressionFrom(env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION) ??
      compressionFrom(env.OTEL_EXPORTER_OTLP_COMPRESSION),
  });
}

export interface LangfuseSettings {
  baseUrl: string;
  publicKey: string;
  secretKey: string;
}

/** Langfuse connection settings from options and LANGFUSE_* variables; throws naming what is missing. */
export function langfuseSettings(
  options: Partial<LangfuseSettings> & { env?: Environment } = {},
): LangfuseSettings {
  const env = options.env ?? process.env;
  const publicKey = options.publicKey ?? env.LANGFUSE_PUBLIC_KEY?.trim();
  const secretKey = options.secretKey ?? env.LANGFUSE_SECRET_KEY?.trim();
  const missing: string[] = [];
  if (!publicKey) missing.push("LANGFUSE_PUBLIC_KEY");
  if (!secretKey) missing.push("LANGFUSE_SECRET_KEY");
  if (missing.length > 0 || !publicKey || !secretKey) {
    throw new LlmuxOtelError(
      "missing_configuration",
      `Langfuse tracing needs ${missing.join(" and ")} (and LANGFUSE_BASE_URL or LANGFUSE_HOST for a self-hosted Langfuse; default ${DEFAULT_LANGFUSE_BASE_URL}).`,
    );
  }
  const rawBase =
    options.baseUrl ??
    (env.LANGFUSE_BASE_URL?.trim() || env.LANGFUSE_HOST?.trim() || DEFAULT_LANGFUSE_BASE_URL);
  return { baseUrl: rawBase.replace(/\/+$/, ""), publicKey, secretKey };
}

/** `Basic base64(publicKey:secretKey)`, Langfuse's API authentication. */
export function langfuseAuthorization(settings: { publicKey: string; secretKey: string }): string {
  return `Basic ${Buffer.from(`${settings.publicKey}:${settings.secretKey}`).toString("base64")}`;
}

/**
 * OTLP/HTTP (protobuf) to `{LANGFUSE_BASE_URL or LANGFUSE_HOST}/api/public/otel/v1/traces` with
 * Basic auth `LANGFUSE_PUBLIC_KEY:LANGFUSE_SECRET_KEY`. Sends `x-langfuse-ingestion-version: 4`,
 * which Langfuse's API description asks direct OTLP exporters to send.
 */
export function langfuseExporter(options: LangfuseExporterOptions = {}): OtlpHttpSpanExporter {
  const settings = langfuseSettings(options);
  return new OtlpHttpSpanExporter({
    name: "langfuse",
    url: `${settings.baseUrl}${LANGFUSE_OTEL_PATH}`,
    headers: {
      Authorization: langfuseAuthorization(settings),
      "x-langfuse-ingestion-version": "4",
    },
    protocol: options.protocol ?? "http/protobuf",
    timeoutMillis: options.timeoutMillis,
    compression: options.compression,
  });
}
