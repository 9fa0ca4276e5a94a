/**
 * Child process: llmux on Koa through @llmux/koa (`app.use(llmux(options, { prefix: "/v1" }))`), in the mode named by
 * BENCH_LLMUX_MODE. Koa and the adapter are loaded at run time: when either is missing, the child
 * fails with a reason and the bench skips the scenario with a note.
 */
import type { AddressInfo } from "node:net";
import type { Gateway } from "@llmux/core";
import { SkipScenario, serveChild } from "../server-protocol";
import { llmuxMode, llmuxOptions, llmuxTelemetry } from "./llmux-options";
import { optionalImport, pickFunction } from "./optional-import";

interface KoaApp {
  use(middleware: unknown): KoaApp;
  listen(port: number, host: string): import("node:http").Server;
}

serveChild(async () => {
  const adapter = await optionalImport("@llmux/koa");
  const koa = await optionalImport("koa");
  const factory = pickFunction<(options: unknown, mount?: { prefix?: string }) => unknown>(adapter.module, [
    "llmux",
    "createLlmuxMiddleware",
  ]);
  const Koa = (koa.module?.default ?? koa.module?.Koa) as (new () => KoaApp) | undefined;
  if (!factory || typeof Koa !== "function") {
    throw new SkipScenario(
      adapter.reason ?? koa.reason ?? "@llmux/koa does not export llmux(options) yet (no Koa adapter)",
    );
  }
  const mode = llmuxMode();
  // mounted the documented way: `app.use(llmux(options, { prefix: "/v1" }))`
  const middleware = factory(llmuxOptions(mode), { prefix: "/v1" }) as { gateway?: Gateway } & ((
    ...args: unknown[]
  ) => unknown);
  const gateway = middleware.gateway;
  await gateway?.ready;
  const app = new Koa();
  app.use(middleware);
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  server.keepAliveTimeout = 30_000;
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    details: { framework: "koa", mode, plugins: gateway?.plugins().map((plugin) => plugin.name) ?? null },
    flush: async () => gateway?.flush(),
    telemetry: async () => (gateway ? llmuxTelemetry(gateway) : {}),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway?.shutdown();
    },
  };
});
