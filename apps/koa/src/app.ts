import type { Server } from "node:http";
import Router from "@koa/router";
import {
  authenticateRequest,
  callInfo,
  closeGracefully,
  createGatewayClient,
  type GatewayOptions,
  isLlmuxError,
  type ShutdownPlan,
} from "@llmux/core";
import { llmux } from "@llmux/koa";
import Koa from "koa";
import bodyParser from "koa-bodyparser";

export interface ReferenceAppOptions extends Partial<GatewayOptions> {
  /** Path of the llmux config (LiteLLM YAML) or a config object. */
  config: GatewayOptions["config"];
  /** Model group `POST /api/summarize` calls in-process. Default: LLMUX_SUMMARY_MODEL or "gpt-4o-mini". */
  summaryModel?: string;
  /** Whole-request receive timeout of the server (ms). Default 30 000. */
  requestTimeoutMs?: number;
  /** Header receive timeout of the server (ms). Default 10 000. */
  headersTimeoutMs?: number;
}

/**
 * The reference "existing backend" on Koa: middleware and routes of its own (a request id, a JSON notes
 * API, `POST /api/summarize` calling the gateway in-process) and the llmux gateway at /v1, health checks
 * at /health/* and Prometheus metrics at /metrics when the `prometheus` callback is configured.
 */
export function createReferenceApp(options: ReferenceAppOptions) {
  const app = new Koa();
  // The gateway serves /v1; a second middleware on the same gateway serves the root paths.
  const api = llmux(options as GatewayOptions, { prefix: "/v1" });
  const rootPaths = llmux(api.gateway);
  const llm = createGatewayClient(api.gateway);
  const summaryModel = options.summaryModel ?? process.env.LLMUX_SUMMARY_MODEL ?? "gpt-4o-mini";

  // The host's own middleware: a request id on every response, JSON errors for its own routes.
  let requestCounter = 0;
  app.use(async (context, next) => {
    context.set("x-request-id", `app-${++requestCounter}`);
    await next();
  });

  // The gateway before the host's body parser: it reads (and size-limits) its own bodies.
  app.use(api);
  // The built-in dashboard (@llmux/dashboard) at /llmux/: sign in with the master key.
  app.use(api.dashboard);
  // The in-process API trusts its caller, so the host's route that uses it checks the caller first,
  // before its body is read: here with the gateway's own key check (master key or authorize hook);
  // a real app would use its own auth.
  app.use(async (context, next) => {
    if (context.path !== "/api/summarize") return next();
    try {
      await authenticateRequest(api.gateway, context.req);
    } catch (error) {
      context.status = 401;
      context.body = { error: isLlmuxError(error) ? error.message : "Unauthorized" };
      return;
    }
    return next();
  });
  app.use(bodyParser({ jsonLimit: "10mb" }));

  const notes: Array<{ id: number; text: string }> = [];
  const router = new Router();
  router.get("/", (context) => {
    context.body = {
      service: "reference-koa-app",
      gateway: "/v1",
      health: "/health/readiness",
      dashboard: "/llmux/",
    };
  });
  router.get("/api/notes", (context) => {
    context.body = notes;
  });
  router.post("/api/notes", (context) => {
    const text = (context.request.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== "string" || text.length === 0) {
      context.status = 400;
      context.body = { error: "text is required" };
      return;
    }
    const note = { id: notes.length + 1, text };
    notes.push(note);
    context.status = 201;
    context.body = note;
  });
  // A route of the host's own that calls the gateway in-process: routed, priced and traced like /v1.
  router.post("/api/summarize", async (context) => {
    const text = (context.request.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== "string" || text.length === 0) {
      context.status = 400;
      context.body = { error: "text is required" };
      return;
    }
    try {
      const completion = await llm.chat.completions.create(
        {
          model: summaryModel,
          messages: [
            { role: "system", content: "Summarize the user's text in one sentence." },
            { role: "user", content: text },
          ],
          metadata: { tags: ["summarize"] },
        },
        { request: context.req },
      );
      const message = completion.choices[0]?.message as { content?: string } | undefined;
      const info = callInfo(completion);
      context.body = {
        summary: message?.content ?? "",
        model: summaryModel,
        callId: info?.callId,
        cost: info?.headers["x-llmux-response-cost"] ? Number(info.headers["x-llmux-response-cost"]) : null,
      };
    } catch (error) {
      context.status = isLlmuxError(error) ? error.status : 500;
      context.body = { error: isLlmuxError(error) ? error.message : "summarize failed" };
    }
  });
  router.get(["/health/liveliness", "/health/readiness", "/metrics"], rootPaths);
  app.use(router.routes());
  app.use(router.allowedMethods());

  return { app, gateway: api.gateway };
}

/** Listens and returns the server with a graceful close: stop accepting, finish in-flight calls, flush sinks. */
export async function startReferenceApp(options: ReferenceAppOptions & { port?: number; host?: string }) {
  const { app, gateway } = createReferenceApp(options);
  await gateway.ready;
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve(listening));
    listening.once("error", reject);
  });
  // Slow-drip clients: the whole request within 30 s, its headers within 10 s (Node's default holds a
  // body for 300 s).
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, server.requestTimeout);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  // Stop accepting, close idle keep-alive sockets, let in-flight calls finish (streams past the
  // grace period end with an in-band error), then flush telemetry by the plan's deadline.
  const close = (plan?: ShutdownPlan) => closeGracefully(server, gateway, plan);
  return { server, gateway, port, url: `http://${options.host ?? "127.0.0.1"}:${port}`, close };
}
