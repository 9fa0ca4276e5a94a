/**
 * Public types of the in-process OTLP/HTTP receiver (@llmux/testing, otlp folder).
 */
import type { IncomingHttpHeaders } from "node:http";

/** An OTLP AnyValue flattened to a plain value (kvlist → object, bytes → base64 string). */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [key: string]: OtlpValue };

export type SpanKindName = "UNSPECIFIED" | "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";

export interface DecodedSpanEvent {
  name: string;
  timeUnixNano: string;
  attributes: Record<string, OtlpValue>;
}

export interface DecodedSpan {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  traceState?: string;
  name: string;
  /** OTLP SpanKind number (1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER). */
  kind: number;
  kindName: SpanKindName;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** Epoch milliseconds (fractional). */
  startTimeMs: number;
  endTimeMs: number;
  attributes: Record<string, OtlpValue>;
  events: DecodedSpanEvent[];
  /** code: 0 UNSET, 1 OK, 2 ERROR. */
  status: { code: number; message?: string };
  resource: Record<string, OtlpValue>;
  scope: { name: string; version?: string };
  /** Request path the span arrived on (e.g. /api/public/otel/v1/traces). */
  path: string;
  /** "protobuf" or "json": how the request encoded it. */
  encoding: "protobuf" | "json";
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  contentType: string;
  /** Status the receiver answered with. */
  status: number;
  /** Spans decoded from it (0 for failed or non-trace requests). */
  spanCount: number;
}

/** A `POST /api/public/scores` call (Langfuse's score API, mocked). */
export interface ReceivedScore {
  headers: IncomingHttpHeaders;
  body: unknown;
  /** The id the mock answered with. */
  id: string;
}

export interface OtlpReceiverOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /**
   * Counts the spans of each trace request (`requests[i].spanCount`) without decoding them into
   * `spans`, which stays empty (and `waitForSpans` waits in vain): a structural walk of the protobuf
   * instead of objects for every attribute, for load tests where the receiver shares the machine
   * under test (the bench). OTLP/JSON bodies are still decoded to be counted. Default false.
   */
  countOnly?: boolean;
}

export interface OtlpReceiver {
  /** Base URL, e.g. http://127.0.0.1:43127 (also a Langfuse base URL). */
  readonly url: string;
  /** `${url}/v1/traces` (OTLP / MLflow path). */
  readonly tracesUrl: string;
  /** `${url}/api/public/otel/v1/traces` (Langfuse path). */
  readonly langfuseTracesUrl: string;
  /** Every span decoded so far, in arrival order. */
  readonly spans: DecodedSpan[];
  /** Every request received, in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Every score posted to /api/public/scores. */
  readonly scores: ReceivedScore[];
  /** Resolves with all spans once at least `count` have arrived; rejects after `timeoutMs` (default 5000). */
  waitForSpans(count: number, timeoutMs?: number): Promise<DecodedSpan[]>;
  /** Resolves once at least `count` requests have arrived (including failed ones). */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  /** Answers the next `count` POSTs (traces or scores) with `status` and decodes nothing from them. */
  failNext(status: number, count?: number): void;
  /** Holds the answer to the next `count` POSTs for `delayMs` (a slow backend). */
  delayNext(delayMs: number, count?: number): void;
  /** Forgets received spans, requests and scores (score ids restart at score-1), and pending failures or delays. */
  reset(): void;
  close(): Promise<void>;
}
