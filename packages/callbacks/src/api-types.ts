/**
 * Public types of this package's own API (engine, rejection, batching base, built-in sinks,
 * registry). The shared contract (events, sink interface, hooks, plugin) lives in `types.ts`
 * and is kept unchanged; both files are re-exported from `index.ts`.
 */
import type {
  AttemptEvent,
  CallbackSink,
  CallEvent,
  CallStartEvent,
  CooldownEvent,
  EngineStatsSource,
  ErrorKind,
  FallbackEvent,
  Logger,
  ShutdownOptions,
  SinkStats,
  StreamChunkEvent,
} from "./types";

export interface CallbackEngineOptions {
  /** Sinks to start with; more can be added with `add()`. */
  sinks?: CallbackSink[];
  /** Where the engine reports sink errors and drops (rate-limited). Default: a stderr logger. */
  logger?: Logger;
  /** At most one error log (and one drop warning) per sink per this many ms. Default 10 000. */
  errorLogIntervalMs?: number;
  /**
   * A handler's promise that has not settled after this many ms counts as an error and the
   * sink's queue moves on (so one hung sink cannot block `flush()`/`shutdown()` forever).
   * Default 60 000; 0 disables the limit.
   */
  handlerTimeoutMs?: number;
  /** Secret strings scrubbed from the error messages the engine logs (Bearer/x-api-key values always are). */
  secrets?: string[];
}

/**
 * The callback engine: every emit method is synchronous, O(1) per sink, never throws and
 * never awaits. Events are handed to sinks as-is: sinks must not mutate them.
 */
export interface CallbackEngine extends EngineStatsSource {
  /** true when at least one sink wants stream chunks (the core may skip building chunk events otherwise). */
  readonly wantsStreamChunks: boolean;
  /**
   * true when at least one sink takes attempt events: the core builds them only then (an attempt event
   * is a copy of the attempt record with the call id, made per upstream attempt).
   */
  readonly wantsAttempts: boolean;
  /** Adds a sink (throws a TypeError for a value that is not a sink, an Error after shutdown). */
  add(sink: CallbackSink): void;
  start(event: CallStartEvent): void;
  success(event: CallEvent): void;
  failure(event: CallEvent): void;
  streamChunk(event: StreamChunkEvent): void;
  attempt(event: AttemptEvent): void;
  fallback(event: FallbackEvent): void;
  cooldown(event: CooldownEvent): void;
  /** Resolves when every event queued before the call is handled and every sink's flush() settled. Never rejects. */
  flush(): Promise<void>;
  /**
   * Stops accepting events, delivers what is queued, then calls each sink's shutdown(). Idempotent,
   * never rejects. With `options.deadline` it resolves by then: what is still queued is logged per sink.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  stats(): SinkStats[];
}

/** The error a request hook throws (via `rejectCall`) to refuse a call. */
export interface CallRejection extends Error {
  readonly kind: "call_rejection";
  /** HTTP status the client gets. */
  readonly status: number;
  /** Error class in the OpenAI error body (`error.type`). */
  readonly type: ErrorKind;
  /** Optional machine-readable code (`error.code`). */
  readonly code?: string;
  /** Sent as the `retry-after` header (seconds, rounded up). */
  readonly retryAfterMs?: number;
  /** `error.type` in the OpenAI body when it is not the status's usual type (e.g. LiteLLM's "budget_exceeded"). */
  readonly errorType?: string;
}

export interface RejectCallOptions {
  /** Defaults from the status: 400 bad_request, 401 authentication, 403 permission_denied, 404 not_found, 408/504 timeout, 413 request_too_large, 429 rate_limit, 503 unavailable, other 5xx server_error. */
  type?: ErrorKind;
  code?: string;
  /** Sent as the `retry-after` header (seconds, rounded up). */
  retryAfterMs?: number;
  /** `error.type` in the OpenAI body instead of the one derived from `type`. */
  errorType?: string;
}

export interface RunHooksOptions {
  /** Where after-call hook errors are logged. Default: a stderr logger. */
  logger?: Logger;
}

export interface BatchingSinkOptions {
  /** Items per `send()` call; reaching it triggers a send. Default 100. */
  maxBatchSize?: number;
  /** Buffered items are sent at least this often (the timer is unref'd). Default 5 000 ms. */
  flushIntervalMs?: number;
  /** Items held at most; further items are dropped and counted. Default 10 000. */
  maxBufferSize?: number;
  /** Retries of a failed batch before it is dropped and counted as failed. Default 3. */
  maxRetries?: number;
  /** Backoff before the first retry; doubles each retry (with jitter), up to maxRetryBackoffMs. Default 500. */
  retryBackoffMs?: number;
  /** Backoff cap. Default 30 000. */
  maxRetryBackoffMs?: number;
  logger?: Logger;
  /** At most one failure log (and one drop warning) per this many ms. Default 10 000. */
  errorLogIntervalMs?: number;
}

export interface BatchingSinkStats {
  /** Items waiting to be sent (not counting the batch in flight). */
  buffered: number;
  /** Items in the batch being sent or retried. */
  inFlight: number;
  /** Items delivered by a successful `send()`. */
  sent: number;
  /** Items refused because the buffer was full or the sink was shut down. */
  dropped: number;
  /** Items in batches that still failed after every retry. */
  failed: number;
  /** Number of retried `send()` calls. */
  retries: number;
}

export interface ConsoleSinkOptions {
  /** Where lines go. Default process.stdout. */
  stream?: NodeJS.WritableStream;
  /** Sink name (default "console"). */
  name?: string;
  /** Which outcomes to print (default "all"). */
  only?: "all" | "success" | "failure";
}

export interface JsonlSinkOptions {
  /** File to append to (its folder is created). */
  path: string;
  /** Rotate when the file would grow past this many bytes. Default 50 MB. */
  maxBytes?: number;
  /** Rotated files kept besides the live one: path.1 (newest) … path.N. Default 5. */
  maxFiles?: number;
  /** Sink name (default "jsonl"). */
  name?: string;
  /** Which outcomes to write (default "all"). */
  only?: "all" | "success" | "failure";
  /** Call fsync in flush()/shutdown() so the lines survive a machine crash. Default true. */
  fsync?: boolean;
}

export type SinkFactory<Options = Record<string, unknown>> = (options: Options) => CallbackSink;

export interface SinkRegistry {
  /** Registers (or replaces) the factory for a name, e.g. the name used in `litellm_settings.callbacks`. */
  register<Options>(name: string, factory: SinkFactory<Options>): SinkRegistry;
  /** Builds a sink; throws an Error with `code: "unknown_sink"` naming the known sinks for an unknown name. */
  create(name: string, options?: unknown): CallbackSink;
  has(name: string): boolean;
  names(): string[];
}

/** A compiled `scrubSecrets` for a fixed list of secrets. */
export type SecretScrubber = <T>(value: T) => T;
