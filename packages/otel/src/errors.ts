/**
 * Errors raised by @llmux/otel at configuration time (never on the request path). Recognisable
 * without instanceof: `isLlmuxOtelError(error)` or `error.kind`.
 */
const BRAND = Symbol.for("llmux.otel.error");

export type OtelErrorKind = "missing_configuration" | "invalid_configuration" | "feedback_failed";

export class LlmuxOtelError extends Error {
  readonly kind: OtelErrorKind;
  readonly [BRAND] = true;

  constructor(kind: OtelErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LlmuxOtelError";
    this.kind = kind;
  }
}

export function isLlmuxOtelError(error: unknown): error is LlmuxOtelError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
