import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallType } from "@llmux/callbacks";
import { isLlmuxError, LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { Gateway } from "../gateway/create-gateway";
import { authenticate } from "./authenticate";
import { anthropicErrorBody, openAiErrorBody } from "./error-body";
import { handleMessagesRoute, isMessagesRoute } from "./messages-route";
import { prepareCall } from "./prepare-call";
import { handleResponsesRoute } from "./responses-route";
import { SseWriter } from "./sse-writer";

/**
 * The framework-agnostic request handler. Resolves to false when the path is not one of the
 * gateway's (the adapter then passes the request on). `parsedBody` is the host's parsed JSON body,
 * when a body parser ran before the gateway.
 */
export type LlmuxHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  parsedBody?: unknown,
) => Promise<boolean>;

type ErrorFormat = "openai" | "anthropic";

export function createHandler(gateway: Gateway): LlmuxHandler {
  return async (request, response, parsedBody) => {
    const startTime = Date.now();
    const path = normalisePath(request.url ?? "/");
    const method = request.method ?? "GET";
    try {
      if (method === "GET" && path === "/health/liveliness") {
        json(response, 200, { status: "ok" });
        return true;
      }
      if (method === "GET" && path === "/health/readiness") {
        await gateway.ready;
        json(response, 200, gateway.readiness());
        return true;
      }
      if (method === "POST" && (path === "/chat/completions" || path === "/embeddings")) {
        await completion(
          path === "/embeddings" ? "embeddings" : "chat",
          request,
          response,
          parsedBody,
          startTime,
        );
        return true;
      }
      if (method === "POST" && path === "/responses") {
        await handleResponsesRoute(gateway, request, response, parsedBody, startTime);
        return true;
      }
      if (isMessagesRoute(method, path)) {
        await handleMessagesRoute(gateway, path, request, response, parsedBody, startTime);
        return true;
      }
      if (method === "GET" && path === "/models") {
        const access = await authenticate(request, gateway.config.masterKey, gateway.options.authorize);
        json(response, 200, { object: "list", data: gateway.models(access.allowedModels) });
        return true;
      }
      await gateway.ready;
      for (const route of gateway.routes()) {
        if (route.method === method && (path === route.path || path === normalisePath(route.path))) {
          await route.handle(request, response, parsedBody);
          return true;
        }
      }
      return false;
    } catch (raw) {
      const error = toLlmuxError(raw);
      if (error.kind === "internal") {
        gateway.logger.error("internal error in the request handler", {
          path,
          error: gateway.scrub(String((raw as Error)?.stack ?? raw)),
        });
      }
      sendError(response, error, "openai", gateway.scrub);
      return true;
    }
  };

  async function completion(
    callType: CallType,
    request: IncomingMessage,
    response: ServerResponse,
    parsedBody: unknown,
    startTime: number,
  ): Promise<void> {
    const input = await prepareCall(gateway, {
      callType,
      request,
      response,
      parsedBody,
      startTime,
      validate: (body) => validate(callType, body),
    });
    if (!input) return;
    if (callType === "embeddings") {
      const outcome = await gateway.embeddings(input);
      return json(response, 200, outcome.body, outcome.headers, outcome.raw);
    }
    if (!input.stream) {
      const outcome = await gateway.chat(input);
      return json(response, 200, outcome.body, outcome.headers, outcome.raw);
    }
    const outcome = await gateway.chatStream(input);
    const writer = new SseWriter(response);
    try {
      writer.open(200, outcome.headers);
    } catch (error) {
      // The stream was never started: release its attempt and upstream before answering.
      await outcome.cancel();
      throw error;
    }
    try {
      for await (const item of outcome.chunks) {
        if (writer.isClosed) break;
        await writer.data(item.raw ?? JSON.stringify(item.chunk));
      }
      writer.end("data: [DONE]\n\n");
    } catch (raw) {
      const error = toLlmuxError(raw);
      if (error.kind !== "aborted") await writer.data(JSON.stringify(openAiErrorBody(error)));
      writer.end();
    }
  }
}

function validate(callType: CallType, body: Record<string, unknown>): void {
  if (typeof body.model !== "string" || body.model.length === 0) {
    throw new LlmuxError({
      kind: "bad_request",
      message: "'model' is required and must be a string",
      param: "model",
      code: "missing_model",
    });
  }
  if (callType === "chat") {
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new LlmuxError({
        kind: "bad_request",
        message: "'messages' is required and must be a non-empty array",
        param: "messages",
        code: "invalid_messages",
      });
    }
    for (const [index, message] of body.messages.entries()) {
      if (
        !message ||
        typeof message !== "object" ||
        typeof (message as { role?: unknown }).role !== "string"
      ) {
        throw new LlmuxError({
          kind: "bad_request",
          message: `messages[${index}] must be an object with a 'role'`,
          param: `messages[${index}]`,
          code: "invalid_messages",
        });
      }
    }
    if (body.stream !== undefined && typeof body.stream !== "boolean") {
      throw new LlmuxError({ kind: "bad_request", message: "'stream' must be a boolean", param: "stream" });
    }
  } else if (
    body.input === undefined ||
    body.input === null ||
    (Array.isArray(body.input) && body.input.length === 0) ||
    body.input === ""
  ) {
    throw new LlmuxError({
      kind: "bad_request",
      message: "'input' is required: a string or an array",
      param: "input",
      code: "invalid_input",
    });
  }
}

function normalisePath(url: string): string {
  const query = url.indexOf("?");
  let path = query === -1 ? url : url.slice(0, query);
  if (path.startsWith("/v1/")) path = path.slice(3);
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
  /** `body` already serialised (the upstream's own JSON text), sent as is. */
  serialized?: string,
): void {
  const text = serialized ?? JSON.stringify(body);
  // The headers object is the call's own (never shared): add to it rather than copy it.
  const all = headers ?? {};
  all["content-type"] = "application/json";
  all["content-length"] = String(Buffer.byteLength(text));
  response.writeHead(status, all);
  response.end(text);
}

export function sendError(
  response: ServerResponse,
  error: LlmuxError,
  format: ErrorFormat,
  scrub: (text: string) => string,
): void {
  if (error.kind === "aborted" || response.destroyed) {
    if (!response.headersSent) response.destroy();
    return;
  }
  const safe =
    isLlmuxError(error) && scrub(error.message) !== error.message
      ? new LlmuxError({ kind: error.kind, status: error.status, message: scrub(error.message) })
      : error;
  if (response.headersSent) {
    response.end();
    return;
  }
  const headers: Record<string, string> = { ...error.responseHeaders };
  if (error.retryAfterMs !== undefined)
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  json(
    response,
    error.status,
    format === "anthropic" ? anthropicErrorBody(safe) : openAiErrorBody(safe),
    headers,
  );
}
