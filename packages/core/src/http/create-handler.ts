import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallType, PluginRoute } from "@llmux/callbacks";
import { isLlmuxError, LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { Gateway } from "../gateway/create-gateway";
import { validateRequest } from "../validation/validate-request";
import { type Access, authenticate, resolveAccess } from "./authenticate";
import { withCallId } from "./call-id-header";
import { handleCompletionsRoute } from "./completions-route";
import { anthropicErrorBody, openAiErrorBody } from "./error-body";
import { handleMessagesRoute } from "./messages-route";
import { modelRoute } from "./model-route";
import { callerFormat, isApiPath, unknownRoute } from "./not-found";
import { prepareCall } from "./prepare-call";
import { handleResponsesRoute } from "./responses-route";
import { type ErrorFormat, normaliseRoutePath, RouteTable } from "./route-table";
import { SseWriter, STREAM_TRAILERS } from "./sse-writer";
import { storedResponseRoute } from "./stored-responses-route";

/**
 * The framework-agnostic request handler. Resolves to false when the path is not one of the
 * gateway's (the adapter then passes the request on). `parsedBody` is the host's parsed JSON body,
 * when a body parser ran before the gateway.
 */
export interface LlmuxHandler {
  (request: IncomingMessage, response: ServerResponse, parsedBody?: unknown): Promise<boolean>;
  /** Every route this handler serves (built-in first, then plugin routes), once the gateway is ready. */
  routes(): Promise<Array<Pick<PluginRoute, "method" | "path" | "auth">>>;
}

/**
 * Built-in routes first, then plugin routes, in one table built once (plugin routes once the plugins
 * are loaded). Every route is authenticated here, from the headers only, before its body is read
 * and before its handler runs; the resolved access is the handler's 4th argument. Only routes
 * marked "public" (health) skip the check, so a new route cannot forget it.
 */
export function createHandler(gateway: Gateway): LlmuxHandler {
  const builtIn = new RouteTable();
  const startTimes = new WeakMap<IncomingMessage, number>();
  const startOf = (request: IncomingMessage): number => startTimes.get(request) ?? Date.now();
  for (const route of builtInRoutes())
    builtIn.add(route, route.path.startsWith("/messages") ? "anthropic" : "openai");
  let full: Promise<RouteTable> | undefined;
  const table = (): Promise<RouteTable> => {
    full ??= gateway.ready.then(() => {
      const all = new RouteTable((key) =>
        gateway.logger.warn("a plugin route duplicates an existing route and is ignored", { route: key }),
      );
      for (const entry of builtIn.entries()) all.add(entry, entry.format);
      for (const route of gateway.routes()) all.add(route);
      return all;
    });
    return full;
  };

  const handler = async (
    request: IncomingMessage,
    response: ServerResponse,
    parsedBody?: unknown,
  ): Promise<boolean> => {
    startTimes.set(request, Date.now());
    const path = normaliseRoutePath(request.url ?? "/");
    const method = request.method ?? "GET";
    let format: ErrorFormat = "openai";
    try {
      const route = builtIn.find(method, path) ?? (await table()).find(method, path);
      if (!route) {
        if (!isApiPath(path)) return false;
        // Under the gateway's API namespaces: a JSON 404 in the caller's format, never the host's HTML page.
        format = callerFormat(request, path);
        await gateway.ready;
        await authenticate(request, gateway.config.masterKey, gateway.options.authorize, "caller");
        throw unknownRoute(method, path);
      }
      format = route.format;
      let access: Access = {};
      if (route.auth !== "public") {
        if (!gateway.isReady()) await gateway.ready;
        const resolved = resolveAccess(
          request,
          gateway.config.masterKey,
          gateway.options.authorize,
          route.auth,
          gateway.plugins(),
        );
        // no promise (nor microtask) when nothing had to be waited for (the master key, an open gateway)
        access = resolved instanceof Promise ? await resolved : resolved;
      }
      await route.handle(request, response, parsedBody, access);
      return true;
    } catch (raw) {
      const error = toLlmuxError(raw);
      if (error.kind === "internal") {
        gateway.logger.error("internal error in the request handler", {
          path,
          error: gateway.scrub(String((raw as Error)?.stack ?? raw)),
        });
      }
      sendError(response, error, format, gateway.scrub);
      return true;
    }
  };
  return Object.assign(handler, {
    routes: async () => (await table()).entries().map(({ method, path, auth }) => ({ method, path, auth })),
  });

  function builtInRoutes(): PluginRoute[] {
    return [
      {
        method: "GET",
        path: "/health/liveliness",
        auth: "public",
        root: true,
        handle: (_request, response) => json(response, 200, { status: "ok" }),
      },
      {
        method: "GET",
        path: "/health/readiness",
        auth: "public",
        root: true,
        handle: async (_request, response) => {
          await gateway.ready;
          json(response, 200, gateway.readiness());
        },
      },
      {
        method: "POST",
        path: "/chat/completions",
        handle: (request, response, body, access) =>
          completion("chat", request, response, body, access ?? {}, startOf(request)),
      },
      {
        method: "POST",
        path: "/embeddings",
        handle: (request, response, body, access) =>
          completion("embeddings", request, response, body, access ?? {}, startOf(request)),
      },
      {
        method: "POST",
        path: "/responses",
        handle: (request, response, body, access) =>
          handleResponsesRoute(gateway, request, response, body, startOf(request), access ?? {}),
      },
      {
        method: "GET",
        path: "/responses/{id}",
        handle: (request, response, _body, access) =>
          storedResponseRoute(gateway, request, response, access ?? {}),
      },
      {
        method: "DELETE",
        path: "/responses/{id}",
        handle: (request, response, _body, access) =>
          storedResponseRoute(gateway, request, response, access ?? {}),
      },
      {
        method: "GET",
        path: "/responses/{id}/input_items",
        handle: (request, response, _body, access) =>
          storedResponseRoute(gateway, request, response, access ?? {}),
      },
      {
        method: "POST",
        path: "/messages",
        handle: (request, response, body, access) =>
          handleMessagesRoute(gateway, "/messages", request, response, body, startOf(request), access ?? {}),
      },
      {
        method: "POST",
        path: "/messages/count_tokens",
        handle: (request, response, body, access) =>
          handleMessagesRoute(
            gateway,
            "/messages/count_tokens",
            request,
            response,
            body,
            startOf(request),
            access ?? {},
          ),
      },
      {
        method: "POST",
        path: "/completions",
        handle: (request, response, body, access) =>
          handleCompletionsRoute(gateway, request, response, body, startOf(request), access ?? {}),
      },
      {
        method: "GET",
        path: "/models/{id}",
        handle: (request, response, _body, access) => modelRoute(gateway, request, response, access ?? {}),
      },
      {
        // Model ids with a provider prefix ("openai/gpt-4o", served by a wildcard group).
        method: "GET",
        path: "/models/{provider}/{id}",
        handle: (request, response, _body, access) => modelRoute(gateway, request, response, access ?? {}),
      },
      {
        // Claude Code checks the base URL with HEAD / before its first call.
        method: "HEAD",
        path: "/",
        auth: "public",
        handle: (_request, response) => {
          response.writeHead(200, { "content-length": "0" });
          response.end();
        },
      },
      {
        method: "GET",
        path: "/models",
        handle: (_request, response, _body, access) =>
          json(response, 200, { object: "list", data: gateway.models(access?.allowedModels) }),
      },
    ];
  }

  async function completion(
    callType: CallType,
    request: IncomingMessage,
    response: ServerResponse,
    parsedBody: unknown,
    access: Access,
    startTime: number,
  ): Promise<void> {
    const input = await prepareCall(gateway, {
      callType,
      request,
      response,
      parsedBody,
      access,
      startTime,
      validate: (body) => validate(callType, body),
    });
    if (!input) return;
    if (callType === "embeddings") {
      return sendOutcome(response, await gateway.embeddings(input));
    }
    if (!input.stream) {
      return sendOutcome(response, await gateway.chat(input));
    }
    const outcome = await gateway.chatStream(input);
    const writer = new SseWriter(response);
    try {
      writer.open(200, outcome.headers, outcome.trailers && STREAM_TRAILERS);
    } catch (error) {
      // The stream was never started: release its attempt and upstream before answering.
      await outcome.cancel();
      throw error;
    }
    if (outcome.whole) {
      // a cache hit: its whole body is known, written at once (with the headers)
      if (writer.isClosed) return await outcome.cancel();
      writer.end(outcome.whole.sse);
      return outcome.whole.served();
    }
    try {
      // The chunks of one upstream read are written together, with one wait for the socket per read.
      while (true) {
        const batch = await outcome.nextBatch();
        if (batch === undefined) break;
        if (writer.isClosed) return await outcome.cancel();
        for (const item of batch) writer.add(item.raw ?? JSON.stringify(item.chunk));
        await writer.writable();
      }
      writer.end("data: [DONE]\n\n", outcome.trailers?.());
    } catch (raw) {
      const error = toLlmuxError(raw);
      if (error.kind !== "aborted") await writer.data(JSON.stringify(openAiErrorBody(error)));
      writer.end();
    }
  }
}

function validate(callType: CallType, body: Record<string, unknown>): void {
  if (callType === "chat" || callType === "embeddings") validateRequest(callType, body);
}

/** A call's answer: its JSON text as it came when there is one (`body` is then not read: a hit parses it only for a reader). */
export function sendOutcome(
  response: ServerResponse,
  outcome: { body: unknown; raw?: string; headers: Record<string, string> },
): void {
  if (outcome.raw !== undefined) json(response, 200, undefined, outcome.headers, outcome.raw);
  else json(response, 200, outcome.body, outcome.headers);
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
  response.writeHead(status, withCallId(response, all));
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
      ? new LlmuxError({
          kind: error.kind,
          status: error.status,
          message: scrub(error.message),
          param: error.param,
          code: error.code,
        })
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
