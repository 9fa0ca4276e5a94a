/**
 * The error a request hook throws to refuse a call. Recognised by a `Symbol.for` brand (not
 * `instanceof`), so it works across duplicated copies of this package (ESM + CJS, nested installs).
 */
import type { CallRejection, RejectCallOptions } from "./api-types";
import type { ErrorKind } from "./types";

const CALL_REJECTION_BRAND = Symbol.for("llmux.callbacks.call-rejection");

function kindForStatus(status: number): ErrorKind {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "authentication";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 408:
    case 504:
      return "timeout";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "server_error" : "bad_request";
  }
}

class CallRejectionError extends Error implements CallRejection {
  readonly kind = "call_rejection" as const;
  readonly status: number;
  readonly type: ErrorKind;
  readonly code?: string;
  readonly retryAfterMs?: number;
  readonly errorType?: string;

  constructor(status: number, message: string, options: RejectCallOptions) {
    super(message);
    this.name = "CallRejection";
    this.status = status;
    this.type = options.type ?? kindForStatus(status);
    if (options.code !== undefined) this.code = options.code;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.errorType !== undefined) this.errorType = options.errorType;
    Object.defineProperty(this, CALL_REJECTION_BRAND, { value: true, enumerable: false });
  }
}

/**
 * Builds the error a request hook throws to refuse a call: the client gets `status` and an
 * OpenAI-shaped error body with `message`, `type` (derived from the status unless given) and `code`.
 * A status outside 400–599 becomes 400.
 */
export function rejectCall(status: number, message: string, options: RejectCallOptions = {}): CallRejection {
  const valid = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 400;
  return new CallRejectionError(valid, String(message), options);
}

/** true for an error made by `rejectCall` in any copy of this package. */
export function isCallRejection(error: unknown): error is CallRejection {
  return (
    error !== null &&
    typeof error === "object" &&
    (error as Record<symbol, unknown>)[CALL_REJECTION_BRAND] === true &&
    typeof (error as { status?: unknown }).status === "number" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}
