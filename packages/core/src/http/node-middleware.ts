import { LlmuxError } from "../errors/llmux-error";

/**
 * The OpenAI-shaped error for a failure of the host's body parser (express.json / body-parser,
 * koa-bodyparser, Nest's parser) on one of the gateway's paths, or undefined when `error` is not a
 * body-parser failure (the adapter passes it on). Covers invalid JSON (400 `invalid_json`), too large
 * (413), unsupported or corrupt content encodings (bad gzip), unsupported charsets (415), and any
 * other client error body-parser / raw-body / co-body raise (`status` 4xx, `expose` not false), so
 * every failure reaches the caller in its API's format instead of the framework's HTML page.
 */
export function bodyParserFailure(error: unknown): LlmuxError | undefined {
  const candidate = error as
    | {
        status?: unknown;
        statusCode?: unknown;
        type?: unknown;
        name?: unknown;
        message?: unknown;
        expose?: unknown;
      }
    | null
    | undefined;
  if (!candidate || typeof candidate !== "object") return undefined;
  const status = typeof candidate.status === "number" ? candidate.status : candidate.statusCode;
  const message = typeof candidate.message === "string" ? candidate.message : "";
  if (candidate.type === "entity.too.large" || status === 413) {
    return new LlmuxError({
      kind: "request_too_large",
      message: "The request body is too large",
      code: "request_too_large",
    });
  }
  if (
    candidate.type === "entity.parse.failed" ||
    (status === 400 && (candidate.name === "SyntaxError" || "body" in candidate))
  ) {
    return new LlmuxError({
      kind: "bad_request",
      message: `The request body is not valid JSON: ${message}`,
      code: "invalid_json",
    });
  }
  if (typeof status === "number" && status >= 400 && status < 500 && candidate.expose !== false) {
    const code =
      candidate.type === "charset.unsupported"
        ? "unsupported_charset"
        : candidate.type === "encoding.unsupported"
          ? "unsupported_encoding"
          : "invalid_body";
    return new LlmuxError({
      kind: "bad_request",
      status,
      message: `The request body could not be read: ${message}`,
      code,
    });
  }
  return undefined;
}
