/**
 * Child process: llmux mounted on Express 5 the documented way, `app.use("/v1", llmux(options))`,
 * in the mode named by BENCH_LLMUX_MODE ("off" or "all", see llmux-options.ts).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createHandler } from "@llmux/core";
import { llmux } from "@llmux/express";
import express from "express";
import { serveChild } from "../server-protocol";
import { applyExperiments, enabledExperiments, experimentOptions, fastBodyMiddleware } from "./experiments";
import { llmuxMode, llmuxOptions, llmuxTelemetry } from "./llmux-options";

serveChild(async () => {
  const mode = llmuxMode();
  const experiments = enabledExperiments();
  applyExperiments(experiments);
  const gateway = llmux(await experimentOptions(experiments, llmuxOptions(mode)));
  await gateway.gateway.ready;
  const app = express();
  app.disable("x-powered-by");
  if (experiments.includes("fast-body")) app.use("/v1", fastBodyMiddleware);
  app.use("/v1", gateway, gateway.errorHandler);
  // no-express: the same gateway's handler straight on node:http (what the framework costs)
  const handle = createHandler(gateway.gateway);
  const server = experiments.includes("no-express")
    ? createServer((request, response) => {
        handle(request, response).then(
          (handled) => {
            if (!handled) response.writeHead(404).end();
          },
          () => response.destroy(),
        );
      }).listen(0, "127.0.0.1")
    : app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  server.keepAliveTimeout = 30_000;
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    details: {
      framework: "express",
      mode,
      experiments,
      plugins: gateway.gateway.plugins().map((plugin) => plugin.name),
    },
    flush: () => gateway.gateway.flush(),
    telemetry: () => llmuxTelemetry(gateway.gateway),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.gateway.shutdown();
    },
  };
});
