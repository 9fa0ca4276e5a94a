import type { IncomingMessage, ServerResponse } from "node:http";
import { type Gateway, type GatewayOptions, createGateway, createHandler, hostParsedBody } from "@llmux/core";

/** Express middleware with the gateway it serves (for flush/shutdown and in-process calls). */
export interface LlmuxMiddleware {
  (request: IncomingMessage & { body?: unknown }, response: ServerResponse, next: (error?: unknown) => void): void;
  readonly gateway: Gateway;
}

/**
 * Mounts llmux on Express 4 or 5: `app.use("/v1", llmux({ config: "llmux.config.yaml" }))`.
 * Works with or without `express.json()` before it; paths it does not serve go to `next()`.
 */
export function llmux(options: GatewayOptions | Gateway): LlmuxMiddleware {
  const gateway = isGateway(options) ? options : createGateway(options);
  const handle = createHandler(gateway);
  const middleware = (request: IncomingMessage & { body?: unknown }, response: ServerResponse, next: (error?: unknown) => void) => {
    handle(request, response, hostParsedBody(request, request.body)).then(
      (handled) => {
        if (!handled) next();
      },
      (error: unknown) => next(error),
    );
  };
  return Object.assign(middleware, { gateway });
}

function isGateway(value: GatewayOptions | Gateway): value is Gateway {
  return typeof (value as Gateway).chat === "function" && typeof (value as Gateway).router === "object";
}

export type { Gateway, GatewayOptions };
