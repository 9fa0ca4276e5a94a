import type { ErrorKind } from "@llmux/callbacks";
import { kindForStatus, LlmuxError, statusForKind } from "./llmux-error";

/**
 * The single place that decides what an upstream failure is and whether it may succeed on retry.
 */

const CONTEXT_PATTERNS = [
  /context[_ ]length[_ ]exceeded/i,
  /maximum context length/i,
  /context window/i,
  /prompt is too long/i,
  /too many (?:input )?tokens/i,
  /input is too long/i,
];
const CONTENT_POLICY_PATTERNS = [
  /content[_ ]policy/i,
  /content_filter/i,
  /safety system/i,
  /responsible ?ai/i,
];

export interface UpstreamFailure {
  status: number;
  /** Parsed JSON error body, or raw text. */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  provider: string;
  deploymentId: string;
}

/** Builds the classified error for an upstream HTTP failure. */
export function classifyUpstreamFailure(failure: UpstreamFailure): LlmuxError {
  const message = extractMessage(failure.body) ?? `Upstream returned HTTP ${failure.status}`;
  const code = extractCode(failure.body) ?? amazonErrorType(failure.headers);
  let kind: ErrorKind = kindForStatus(failure.status);
  // A status without a class of its own (e.g. Bedrock's 424 ModelErrorException): the error type decides.
  const typed = code === undefined ? undefined : KIND_BY_ERROR_TYPE[code];
  if (typed && kind === "bad_request" && failure.status !== 400 && failure.status !== 422) kind = typed;
  if (kind === "bad_request" || failure.status === 413) {
    const text = `${code ?? ""} ${message}`;
    if (CONTEXT_PATTERNS.some((pattern) => pattern.test(text))) kind = "context_window_exceeded";
    else if (CONTENT_POLICY_PATTERNS.some((pattern) => pattern.test(text))) kind = "content_policy";
  }
  const retryAfterMs = parseRetryAfter(failure.headers);
  return new LlmuxError({
    kind,
    status: clientStatusForUpstream(kind, failure.status),
    upstreamStatus: failure.status,
    message: `${failure.provider} error (${failure.status}): ${message}`,
    provider: failure.provider,
    deploymentId: failure.deploymentId,
    code: code ?? null,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/**
 * Error types that arrive without a usable HTTP status: Anthropic's `error` stream event types and
 * AWS exception names (x-amzn-ErrorType, and the exception frames of Bedrock event streams).
 */
const KIND_BY_ERROR_TYPE: Record<string, ErrorKind> = {
  invalid_request_error: "bad_request",
  authentication_error: "authentication",
  permission_error: "permission_denied",
  not_found_error: "not_found",
  request_too_large: "request_too_large",
  rate_limit_error: "rate_limit",
  api_error: "server_error",
  overloaded_error: "unavailable",
  timeout_error: "timeout",
  ValidationException: "bad_request",
  AccessDeniedException: "permission_denied",
  UnrecognizedClientException: "authentication",
  ResourceNotFoundException: "not_found",
  ThrottlingException: "rate_limit",
  ModelNotReadyException: "rate_limit",
  ServiceQuotaExceededException: "rate_limit",
  ModelTimeoutException: "timeout",
  ModelErrorException: "server_error",
  ModelStreamErrorException: "server_error",
  InternalServerException: "server_error",
  ServiceUnavailableException: "unavailable",
};

/** The class of an error known only by its type name (`overloaded_error`, `throttlingException`, ...). */
export function kindForErrorType(type: string | undefined): ErrorKind | undefined {
  if (!type) return undefined;
  return KIND_BY_ERROR_TYPE[type] ?? KIND_BY_ERROR_TYPE[type.charAt(0).toUpperCase() + type.slice(1)];
}

/**
 * Builds the classified error for a failure reported inside a stream after a 2xx (Anthropic's
 * `error` event, a Bedrock exception frame). Unknown types are server errors (retryable before the
 * first chunk reached the client).
 */
export function classifyStreamError(failure: {
  type: string | undefined;
  message: string | undefined;
  provider: string;
  deploymentId: string;
}): LlmuxError {
  let kind: ErrorKind = kindForErrorType(failure.type) ?? "server_error";
  const message = failure.message ?? failure.type ?? "unknown error";
  if (kind === "bad_request") {
    const text = `${failure.type ?? ""} ${message}`;
    if (CONTEXT_PATTERNS.some((pattern) => pattern.test(text))) kind = "context_window_exceeded";
    else if (CONTENT_POLICY_PATTERNS.some((pattern) => pattern.test(text))) kind = "content_policy";
  }
  return new LlmuxError({
    kind,
    status: clientStatusForUpstream(kind, statusForKind(kind)),
    message: `${failure.provider} stream error${failure.type ? ` (${failure.type})` : ""}: ${message}`,
    provider: failure.provider,
    deploymentId: failure.deploymentId,
    code: failure.type ?? null,
  });
}

/** AWS puts the exception name in x-amzn-ErrorType ("ThrottlingException:http://internal.amazon.com/..."). */
function amazonErrorType(headers: UpstreamFailure["headers"]): string | undefined {
  const value = first(headers["x-amzn-errortype"]);
  if (!value) return undefined;
  return value.split(":")[0] || undefined;
}

/** Status the client sees for an upstream failure: client errors pass through, server errors become 502/503. */
function clientStatusForUpstream(kind: ErrorKind, upstreamStatus: number): number {
  switch (kind) {
    case "server_error":
      return 502;
    case "unavailable":
      return 503;
    case "timeout":
      return 504;
    case "authentication":
    case "permission_denied":
      // The deployment's credentials failed: not the caller's fault.
      return 502;
    case "not_found":
      // The upstream model does not exist: a gateway configuration problem.
      return 502;
    default:
      return upstreamStatus >= 400 && upstreamStatus < 500 ? upstreamStatus : 502;
  }
}

export interface RetryPolicy {
  /** Per-kind retry counts in LiteLLM's retry_policy keys, resolved to kinds. */
  byKind: Partial<Record<ErrorKind, number>>;
}

const RETRYABLE: ReadonlySet<ErrorKind> = new Set([
  "rate_limit",
  "timeout",
  "connection",
  "server_error",
  "unavailable",
]);

/** How many retries this kind of error allows: retry_policy first, else numRetries for retryable kinds, else 0. */
export function retriesAllowed(kind: ErrorKind, numRetries: number, policy: RetryPolicy): number {
  const configured = policy.byKind[kind];
  if (configured !== undefined) return configured;
  return RETRYABLE.has(kind) ? numRetries : 0;
}

/** Kinds for which another deployment or fallback group may succeed. */
const FALLBACK_KINDS: ReadonlySet<ErrorKind> = new Set([
  "rate_limit",
  "timeout",
  "connection",
  "server_error",
  "unavailable",
  "authentication",
  "permission_denied",
  "not_found",
]);

export function canFallback(kind: ErrorKind): boolean {
  return FALLBACK_KINDS.has(kind) || kind === "context_window_exceeded" || kind === "content_policy";
}

/** Whether the deployment itself is at fault and should count towards a cooldown. */
export function countsAgainstDeployment(kind: ErrorKind): boolean {
  return FALLBACK_KINDS.has(kind);
}

/** LiteLLM retry_policy keys → error kinds. */
export const RETRY_POLICY_KEYS: Record<string, ErrorKind> = {
  BadRequestErrorRetries: "bad_request",
  AuthenticationErrorRetries: "authentication",
  TimeoutErrorRetries: "timeout",
  RateLimitErrorRetries: "rate_limit",
  ContentPolicyViolationErrorRetries: "content_policy",
  InternalServerErrorRetries: "server_error",
  NotFoundErrorRetries: "not_found",
  ContextWindowExceededErrorRetries: "context_window_exceeded",
  ServiceUnavailableErrorRetries: "unavailable",
  APIConnectionErrorRetries: "connection",
};

export function parseRetryAfter(headers: Record<string, string | string[] | undefined>): number | undefined {
  const milliseconds = first(headers["retry-after-ms"]);
  if (milliseconds !== undefined) {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const seconds = first(headers["retry-after"]);
  if (seconds === undefined) return undefined;
  const value = Number(seconds);
  if (Number.isFinite(value) && value >= 0) return value * 1000;
  const date = Date.parse(seconds);
  if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  return undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function extractMessage(body: unknown): string | undefined {
  if (typeof body === "string") return body.slice(0, 500) || undefined;
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    const error = record.error;
    if (error && typeof error === "object") {
      const message = (error as Record<string, unknown>).message;
      if (typeof message === "string") return message;
    }
    if (typeof error === "string") return error;
    if (typeof record.message === "string") return record.message;
    if (typeof record.Message === "string") return record.Message;
  }
  return undefined;
}

function extractCode(body: unknown): string | undefined {
  if (body && typeof body === "object") {
    const error = (body as Record<string, unknown>).error;
    if (error && typeof error === "object") {
      const code = (error as Record<string, unknown>).code ?? (error as Record<string, unknown>).type;
      if (typeof code === "string") return code;
    }
  }
  return undefined;
}
