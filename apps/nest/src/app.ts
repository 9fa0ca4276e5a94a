import "reflect-metadata";
import type { Server } from "node:http";
import type { GatewayOptions, ShutdownPlan } from "@llmux/core";
import { LlmuxModule, LlmuxService } from "@llmux/nestjs";
import { Controller, Get, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { NotesController } from "./notes-controller";
import { SUMMARY_MODEL, SummarizeController } from "./summarize-controller";

export interface ReferenceAppOptions extends Partial<GatewayOptions> {
  /** Path of the llmux config (LiteLLM YAML) or a config object. */
  config: GatewayOptions["config"];
  /** Model group `POST /api/summarize` calls in-process. Default: LLMUX_SUMMARY_MODEL or "gpt-4o-mini". */
  summaryModel?: string;
  /** Nest HTTP platform. Default: NEST_PLATFORM or "express". */
  platform?: "express" | "fastify";
  /** Whole-request receive timeout of the server (ms). Default 30 000. */
  requestTimeoutMs?: number;
  /** Header receive timeout of the server (ms). Default 10 000. */
  headersTimeoutMs?: number;
}

@Controller()
class RootController {
  @Get()
  index() {
    return {
      service: "reference-nest-app",
      gateway: "/v1",
      health: "/health/readiness",
      dashboard: "/llmux/",
    };
  }
}

/**
 * The reference "existing backend" on NestJS (Express or Fastify platform): middleware and controllers of
 * its own (a request id, a notes API, `POST /api/summarize` calling the gateway in-process through
 * LlmuxService) and LlmuxModule serving /v1, /health/* and /metrics (when `prometheus` is configured).
 */
export async function createReferenceApp(options: ReferenceAppOptions) {
  const {
    summaryModel,
    platform: chosen,
    requestTimeoutMs: _requestTimeoutMs,
    headersTimeoutMs: _headersTimeoutMs,
    ...gatewayOptions
  } = options;
  @Module({
    imports: [
      LlmuxModule.forRoot({ ...(gatewayOptions as GatewayOptions), path: "/v1", dashboardPath: "/llmux" }),
    ],
    controllers: [RootController, NotesController, SummarizeController],
    providers: [
      {
        provide: SUMMARY_MODEL,
        useValue: summaryModel ?? process.env.LLMUX_SUMMARY_MODEL ?? "gpt-4o-mini",
      },
    ],
  })
  class AppModule {}

  const platform = chosen ?? (process.env.NEST_PLATFORM === "fastify" ? "fastify" : "express");
  const adapter = platform === "fastify" ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(AppModule, adapter, { logger: ["error", "warn"] });
  // The host's own global middleware (raw Node objects on both platforms): a request id on every response.
  let requestCounter = 0;
  app.use(
    (_request: unknown, response: { setHeader(name: string, value: string): void }, next: () => void) => {
      response.setHeader("x-request-id", `app-${++requestCounter}`);
      next();
    },
  );
  return { app, platform };
}

/** Listens and returns the app with a graceful close: stop accepting, finish in-flight calls, flush sinks. */
export async function startReferenceApp(options: ReferenceAppOptions & { port?: number; host?: string }) {
  const { app, platform } = await createReferenceApp(options);
  const host = options.host ?? "127.0.0.1";
  await app.listen(options.port ?? 0, host);
  const server = app.getHttpServer() as Server;
  // Slow-drip clients: the whole request within 30 s, its headers within 10 s (Node's default holds a
  // body for 300 s). Both platforms serve on a node:http server.
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, server.requestTimeout);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const gateway = app.get(LlmuxService).gateway;
  const close = async (plan?: ShutdownPlan) => {
    // Streams past the grace period end with an in-band error; the gateway's shutdown (run by
    // LlmuxService when the app closes) flushes telemetry by the plan's deadline.
    gateway.beginShutdown(plan);
    // Keep-alive connections are closed as soon as their in-flight response (a stream, say) has ended.
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    // Connections still open at the deadline (a non-streamed call still waiting upstream) are closed,
    // so the server's close (and with it the telemetry flush) never waits past the plan.
    const late =
      plan?.deadline === undefined
        ? undefined
        : setTimeout(
            () => {
              gateway.logger.error("shutdown: connections still open at the flush deadline were closed", {});
              server.closeAllConnections();
            },
            Math.max(0, plan.deadline - Date.now()),
          );
    late?.unref();
    try {
      await app.close(); // stops the HTTP server, then LlmuxService shuts the gateway down
    } finally {
      clearInterval(idle);
      clearTimeout(late);
    }
  };
  return { app, gateway, platform, port, url: `http://${host}:${port}`, close };
}
