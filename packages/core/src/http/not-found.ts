import type { IncomingMessage } from "node:http";
import { LlmuxError } from "../errors/llmux-error";
import type { ErrorFormat } from "./route-table";

/**
 * The OpenAI and Anthropic API namespaces under the mount. A request there that matches no route
 * (an endpoint llmux does not serve, such as /v1/audio/speech, or a typo) gets a JSON 404 in the
 * caller's format instead of being passed on to the host, whose framework would answer with its
 * HTML page. Anything else unknown still goes to the host (its own routes beside the gateway).
 */
const API_NAMESPACES = [
  "/chat",
  "/completions",
  "/embeddings",
  "/responses",
  "/messages",
  "/models",
  "/audio",
  "/images",
  "/files",
  "/uploads",
  "/batches",
  "/moderations",
  "/fine_tuning",
  "/assistants",
  "/threads",
  "/vector_stores",
  "/realtime",
  "/conversations",
  "/containers",
  "/rerank",
  "/health",
];

/** Whether a normalised path lies in an API namespace the gateway owns. */
export function isApiPath(path: string): boolean {
  return API_NAMESPACES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** Anthropic's shape for Anthropic clients (an anthropic-version header, or /messages), else OpenAI's. */
export function callerFormat(request: IncomingMessage, path: string): ErrorFormat {
  return request.headers["anthropic-version"] !== undefined || path.startsWith("/messages")
    ? "anthropic"
    : "openai";
}

export function unknownRoute(method: string, path: string): LlmuxError {
  return new LlmuxError({
    kind: "not_found",
    message: `Unknown request URL: ${method} /v1${path}. llmux serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses (and GET/DELETE /v1/responses/{id}), /v1/messages, /v1/messages/count_tokens, /v1/models and /v1/models/{id}.`,
    code: "unknown_url",
  });
}
