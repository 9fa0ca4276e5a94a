import type { Server } from "node:http";
import {
  authenticateRequest,
  callInfo,
  closeGracefully,
  createGatewayClient,
  type GatewayOptions,
  isLlmuxError,
  type ShutdownPlan,
} from "@llmux/core";
import { llmux } from "@llmux/express";
import express from "express";

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
 * The reference "existing backend": an Express app with routes and middleware of its own (a request
 * id, JSON notes API) and the llmux gateway mounted at /v1, health checks at /health/* and
 * Prometheus metrics at /metrics when the `prometheus` callback is configured.
 */
export function createReferenceApp(options: ReferenceAppOptions) {
  const app = express();
  const gateway = llmux(options as GatewayOptions);

  // The host's own middleware: a request id on every response.
  let requestCounter = 0;
  app.use((_request, response, next) => {
    response.setHeader("x-request-id", `app-${++requestCounter}`);
    next();
  });

  // The host parses JSON for its own routes; llmux works with or without it.
  app.use(express.json({ limit: "10mb" }));

  // The host's own routes.
  const notes: Array<{ id: number; text: string }> = [];
  app.get("/", (_request, response) => {
    response.json({
      service: "reference-express-app",
      gateway: "/v1",
      health: "/health/readiness",
      dashboard: "/llmux/",
    });
  });
  app.get("/api/notes", (_request, response) => {
    response.json(notes);
  });
  app.post("/api/notes", (request, response) => {
    const text = (request.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== "string" || text.length === 0) {
      response.status(400).json({ error: "text is required" });
      return;
    }
    const note = { id: notes.length + 1, text };
    notes.push(note);
    response.status(201).json(note);
  });

  // A route of the host's own that calls the gateway in-process: routed, priced and traced like /v1.
  const llm = createGatewayClient(gateway.gateway);
  const summaryModel = options.summaryModel ?? process.env.LLMUX_SUMMARY_MODEL ?? "gpt-4o-mini";
  // The in-process API trusts its caller, so this host route checks the caller first: here with the
  // gateway's own key check (master key or authorize hook); a real app would use its own auth.
  app.post("/api/summarize", async (request, response) => {
    try {
      await authenticateRequest(gateway.gateway, request);
    } catch (error) {
      response.status(401).json({ error: isLlmuxError(error) ? error.message : "Unauthorized" });
      return;
    }
    const text = (request.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== "string" || text.length === 0) {
      response.status(400).json({ error: "text is required" });
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
        { request },
      );
      const info = callInfo(completion);
      const cost = info?.headers["x-llmux-response-cost"];
      response.json({
        summary: (completion.choices[0]?.message as { content?: string } | undefined)?.content ?? "",
        model: summaryModel,
        callId: info?.callId,
        cost: cost ? Number(cost) : null,
      });
    } catch (error) {
      response
        .status(isLlmuxError(error) ? error.status : 500)
        .json({ error: isLlmuxError(error) ? error.message : "summarize failed" });
    }
  });

  // The gateway.
  app.use("/v1", gateway, gateway.errorHandler);
  app.get(["/health/liveliness", "/health/readiness", "/metrics"], gateway);
  // The built-in dashboard (@llmux/dashboard): sign in with the master key at /llmux/.
  app.use("/llmux", gateway.dashboard);

  return { app, gateway: gateway.gateway };
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
