import type { ErrorKind } from "@llmux/callbacks";
import { kindForStatus, LlmuxError } from "./llmux-error";

/**
 * The single place that decides what an upstream failure is and whether it may succeed on retry.
 */

const CONTEXT_PATTERNS = [
  /context[_ ]length[_ ]exceeded/i,
  /maximum context length/i,
  /context window/i,
  /prompt is too long/i,
  /too many tokens/i,
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
  const code = extractCode(failure.body);
  let kind: ErrorKind = kindForStatus(failure.status);
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
