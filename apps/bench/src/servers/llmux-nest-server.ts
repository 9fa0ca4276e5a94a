/**
 * Child process: llmux on NestJS (Express platform) through @llmux/nestjs
 * (`LlmuxModule.forRoot(options)` imported by the host's root module), in the mode named by
 * BENCH_LLMUX_MODE. Nest and the adapter are loaded at run time: when either is missing, the
 * child fails with a reason and the bench skips the scenario with a note.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Gateway } from "@llmux/core";
import { SkipScenario, serveChild } from "../server-protocol";
import { llmuxMode, llmuxOptions, llmuxTelemetry } from "./llmux-options";
import { optionalImport } from "./optional-import";

interface NestApp {
  listen(port: number, host: string): Promise<unknown>;
  getHttpServer(): Server;
  get(token: unknown, options?: { strict?: boolean }): unknown;
  close(): Promise<void>;
}

serveChild(async () => {
  await optionalImport("reflect-metadata");
  const adapter = await optionalImport("@llmux/nestjs");
  const common = await optionalImport("@nestjs/common");
  const core = await optionalImport("@nestjs/core");
  const platform = await optionalImport("@nestjs/platform-express");
  const LlmuxModule = adapter.module?.LlmuxModule as { forRoot?: (options: unknown) => unknown } | undefined;
  const Module = common.module?.Module as ((metadata: unknown) => (target: unknown) => void) | undefined;
  const NestFactory = core.module?.NestFactory as
    | { create(module: unknown, options?: unknown): Promise<NestApp> }
    | undefined;
  if (typeof LlmuxModule?.forRoot !== "function" || !Module || !NestFactory || !platform.module) {
    throw new SkipScenario(
      adapter.reason ??
        common.reason ??
        core.reason ??
        platform.reason ??
        "@llmux/nestjs does not export LlmuxModule.forRoot yet (no Nest adapter)",
    );
  }
  const mode = llmuxMode();
  class BenchAppModule {}
  Module({ imports: [LlmuxModule.forRoot(llmuxOptions(mode))] })(BenchAppModule);
  const app = await NestFactory.create(BenchAppModule, { logger: ["error", "warn"] });
  await app.listen(0, "127.0.0.1");
  const server = app.getHttpServer();
  server.keepAliveTimeout = 30_000;
  const { port } = server.address() as AddressInfo;
  const gateway = findGateway(app, adapter.module ?? {});
  return {
    url: `http://127.0.0.1:${port}`,
    details: { framework: "nest (express platform)", mode, gatewayFound: gateway !== undefined },
    flush: async () => gateway?.flush(),
    telemetry: async () => (gateway ? llmuxTelemetry(gateway) : {}),
    async close() {
      server.closeAllConnections();
      await app.close();
    },
  };
});

/** The gateway behind the module, through whichever injectable the adapter exports. */
function findGateway(app: NestApp, adapter: Record<string, unknown>): Gateway | undefined {
  const tokens = ["LlmuxService", "LLMUX_GATEWAY", "LlmuxGateway"]
    .map((name) => adapter[name])
    .filter(Boolean);
  for (const token of tokens) {
    try {
      const value = app.get(token, { strict: false }) as { gateway?: Gateway } | Gateway | undefined;
      if (!value) continue;
      if (typeof (value as Gateway).flush === "function" && typeof (value as Gateway).chat === "function")
        return value as Gateway;
      const inner = (value as { gateway?: Gateway }).gateway;
      if (inner && typeof inner.flush === "function") return inner;
    } catch {
      // not this token
    }
  }
  return undefined;
}
