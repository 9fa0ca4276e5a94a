import type { Gateway, GatewayOptions } from "@llmux/core";
import { llmux } from "@llmux/express";
import express4 from "express4";
import express5 from "express5";
import { listening } from "./listen";
import type { ServerSettings, StartServer } from "./types";

/** Express 4 or 5: `app.use("/v1", gateway, gateway.errorHandler)` and the root paths through `app.get`. */
export function expressServer(version: 4 | 5): StartServer {
  return async (options: GatewayOptions, { bodyParser }: ServerSettings) => {
    const express = (version === 4 ? express4 : express5) as unknown as typeof express5;
    const app = express();
    if (bodyParser) app.use(express.json({ limit: "10mb" }));
    const middleware = llmux(options);
    app.get("/api/ping", (_request, response) => {
      response.json({ pong: true });
    });
    app.post("/api/echo", (request, response) => {
      response.json({ body: request.body ?? null });
    });
    app.use("/v1", middleware, middleware.errorHandler);
    app.get(["/health/liveliness", "/health/readiness", "/metrics"], middleware);
    const server = app.listen(0, "127.0.0.1");
    const { url, close } = await listening(server);
    const gateway: Gateway = middleware.gateway;
    const shutdown = async () => {
      await close();
      await gateway.shutdown();
    };
    return { url, gateway, close: shutdown };
  };
}
