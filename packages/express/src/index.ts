import type { IncomingMessage, ServerResponse } from "node:http";
import {
  bodyParserFailure,
  createDashboardHandler,
  createGateway,
  createHandler,
  type Gateway,
  type GatewayOptions,
  hostParsedBody,
  sendError,
} from "@llmux/core";

type Next = (error?: unknown) => void;

/** Express middleware with the gateway it serves (for flush/shutdown and in-process calls). */
export interface LlmuxMiddleware {
  (request: IncomingMessage & { body?: unknown }, response: ServerResponse, next: Next): void;
  readonly gateway: Gateway;
  /**
   * Error middleware for the mount: turns a host body parser's failure (malformed JSON, body too large)
   * into an OpenAI-format 400/413. `app.use("/v1", gateway, gateway.errorHandler)`.
   */
  readonly errorHandler: (
    error: unknown,
    request: IncomingMessage,
    response: ServerResponse,
    next: Next,
  ) => void;
  /**
   * The built-in dashboard (needs @llmux/dashboard installed), for a mount of the host's choice:
   * `app.use("/llmux", gateway.dashboard)`. Created on first access; its data endpoints need the
   * master key (or an admin key). See docs/dashboard.md.
   */
  readonly dashboard: (
    request: IncomingMessage & { body?: unknown },
    response: ServerResponse,
    next: Next,
  ) => void;
}

/**
 * Mounts llmux on Express 4 or 5: `app.use("/v1", llmux({ config: "llmux.config.yaml" }))`.
 * Works with or without `express.json()` before it; paths it does not serve go to `next()`.
 */
export function llmux(options: GatewayOptions | Gateway): LlmuxMiddleware {
  const gateway = isGateway(options) ? options : createGateway(options);
  const handle = createHandler(gateway);
  // Named so host tracing (express instrumentation) shows "middleware - llmuxMiddleware".
  const llmuxMiddleware = (
    request: IncomingMessage & { body?: unknown },
    response: ServerResponse,
    next: Next,
  ) => {
    handle(request, response, hostParsedBody(request, request.body)).then((handled) => {
      if (!handled) next();
    }, next);
  };
  const errorHandler = (error: unknown, _request: IncomingMessage, response: ServerResponse, next: Next) => {
    // Invalid JSON, too large, bad gzip, unsupported charset...: the OpenAI error shape, not Express's HTML.
    const failure = bodyParserFailure(error);
    if (failure) sendError(response, failure, "openai", gateway.scrub);
    else next(error);
  };
  let dashboard: LlmuxMiddleware["dashboard"] | undefined;
  const dashboardMiddleware = (): LlmuxMiddleware["dashboard"] => {
    if (dashboard) return dashboard;
    const handleDashboard = createDashboardHandler(gateway);
    // Named for the host's traces, like the gateway's middleware.
    const llmuxDashboard: LlmuxMiddleware["dashboard"] = (request, response, next) => {
      handleDashboard(request, response, hostParsedBody(request, request.body)).then((handled) => {
        if (!handled) next();
      }, next);
    };
    dashboard = llmuxDashboard;
    return dashboard;
  };
  return Object.defineProperty(Object.assign(llmuxMiddleware, { gateway, errorHandler }), "dashboard", {
    get: dashboardMiddleware,
    enumerable: true,
  }) as LlmuxMiddleware;
}

function isGateway(value: GatewayOptions | Gateway): value is Gateway {
  return typeof (value as Gateway).chat === "function" && typeof (value as Gateway).router === "object";
}

export type { Gateway, GatewayOptions };
