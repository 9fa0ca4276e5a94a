import Router from "@koa/router";
import type { GatewayOptions } from "@llmux/core";
import { llmux } from "@llmux/koa";
import bodyParser from "koa-bodyparser";
import mount from "koa-mount";
import Koa2 from "koa2";
import Koa3 from "koa3";
import { listening } from "./listen";
import type { ServerSettings, StartServer } from "./types";

/**
 * Koa 2 or 3: the gateway under koa-mount at /v1 (before the host's router), the root paths through
 * @koa/router; with a parser, koa-bodyparser runs first and the gateway's errorHandler sits before it.
 */
export function koaServer(version: 2 | 3): StartServer {
  return async (options: GatewayOptions, settings: ServerSettings) => {
    const app = new (version === 2 ? Koa2 : Koa3)();
    const middleware = llmux(options);
    const router = new Router();
    router.get("/api/ping", (context) => {
      context.body = { pong: true };
    });
    router.post("/api/echo", (context) => {
      context.body = { body: (context.request as { body?: unknown }).body ?? null };
    });
    router.get(["/health/liveliness", "/health/readiness", "/metrics"], middleware);
    if (settings.bodyParser) {
      app.use(mount("/v1", middleware.errorHandler));
      app.use(bodyParser());
    }
    app.use(mount("/v1", middleware));
    app.use(router.routes());
    const { url, close } = await listening(app.listen(0, "127.0.0.1"));
    const shutdown = async () => {
      await close();
      await middleware.gateway.shutdown();
    };
    return { url, gateway: middleware.gateway, close: shutdown };
  };
}
