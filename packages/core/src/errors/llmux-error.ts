import { type ErrorKind, isCallRejection } from "@llmux/callbacks";

const BRAND = Symbol.for("llmux.error");

export interface LlmuxErrorOptions {
  kind: ErrorKind;
  message: string;
  /** Status the client receives. Defaults to the kind's status. */
  status?: number;
  /** Upstream HTTP status, when the error came from a provider. */
  upstreamStatus?: number;
  provider?: string;
  deploymentId?: string;
  /** OpenAI's error.param. */
  param?: string | null;
  /** OpenAI's error.code. */
  code?: string | null;
  /** Milliseconds the upstream asked us to wait (retry-after / retry-after-ms). */
  retryAfterMs?: number;
  /** OpenAI's error.type when it is not the kind's usual one (a hook's rejectCall errorType). */
  errorType?: string;
  cause?: unknown;
}

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  bad_request: 400,
  authentication: 401,
  permission_denied: 403,
  not_found: 404,
  request_too_large: 413,
  context_window_exceeded: 400,
  content_policy: 400,
  rate_limit: 429,
  timeout: 408,
  connection: 502,
  server_error: 502,
  unavailable: 503,
  aborted: 499,
  internal: 500,
};

export function statusForKind(kind: ErrorKind): number {
  return STATUS_BY_KIND[kind];
}

/**
 * The one error type of llmux. Recognised with `isLlmuxError` (a Symbol.for brand), so two copies
 * of the package in one process still understand each other's errors.
 */
export class LlmuxError extends Error {
  readonly [BRAND] = true;
  readonly kind: ErrorKind;
  readonly status: number;
  readonly upstreamStatus: number | undefined;
  readonly provider: string | undefined;
  readonly deploymentId: string | undefined;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryAfterMs: number | undefined;
  readonly errorType: string | undefined;
  /** x-llmux-* headers of the failed call (attempts, fallbacks, last deployment), set by the gateway. */
  responseHeaders: Record<string, string> | undefined;

  constructor(options: LlmuxErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LlmuxError";
    this.kind = options.kind;
    this.status = options.status ?? STATUS_BY_KIND[options.kind];
    this.upstreamStatus = options.upstreamStatus;
    this.provider = options.provider;
    this.deploymentId = options.deploymentId;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryAfterMs = options.retryAfterMs;
    this.errorType = options.errorType;
    this.responseHeaders = undefined;
  }
}

export function isLlmuxError(value: unknown): value is LlmuxError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Wraps anything thrown into an LlmuxError (unknown errors become `internal`, message kept generic). */
export function toLlmuxError(value: unknown): LlmuxError {
  if (isLlmuxError(value)) return value;
  // A request hook's rejectCall() (branded by @llmux/callbacks).
  if (isCallRejection(value)) {
    return new LlmuxError({
      kind: value.type,
      status: value.status,
      message: value.message,
      ...(value.code ? { code: value.code } : {}),
      ...(value.retryAfterMs !== undefined ? { retryAfterMs: value.retryAfterMs } : {}),
      ...(value.errorType ? { errorType: value.errorType } : {}),
    });
  }
  return new LlmuxError({ kind: "internal", message: "Internal gateway error", cause: value });
}

export function kindForStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return "bad_request";
  if (status === 401) return "authentication";
  if (status === 403) return "permission_denied";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit";
  if (status === 503 || status === 529) return "unavailable";
  if (status >= 500) return "server_error";
  if (status === 409) return "server_error";
  return "bad_request";
}
