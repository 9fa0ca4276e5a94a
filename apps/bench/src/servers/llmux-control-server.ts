/**
 * Child process: llmux on Express 5 with the control plane of @llmux/control (PGlite in memory): the
 * key the load generator sends (BENCH_MASTER_KEY) is a *virtual key* here — checked from the cache,
 * its budget and rpm limit applied, one spend log row written per call in batches — while the master key
 * is another one. Compare with `llmux-express-with:auth` (the same key as the master key) in one run:
 *   npm run bench -- --targets llmux-express-with:auth,llmux-express-keys
 */
import type { AddressInfo } from "node:net";
import { abbreviateKey, createControlPlane, hashKey, openStore } from "@llmux/control";
import { llmux } from "@llmux/express";
import express from "express";
import { serveChild } from "../server-protocol";
import { BENCH_MASTER_KEY } from "./bench-keys";
import { llmuxOptions, llmuxTelemetry } from "./llmux-options";

serveChild(async () => {
  const store = await openStore({ dataDir: "memory://" });
  // The loader's key as a virtual key with a budget and a limit the run never reaches (both checked per call).
  await store.insert("key", {
    token: hashKey(BENCH_MASTER_KEY),
    key_name: abbreviateKey(BENCH_MASTER_KEY),
    key_alias: "bench",
    max_budget: 1e9,
    rpm_limit: 1e9,
  });
  const adminKey = "sk-bench-admin-key-not-sent-by-the-loader";
  const plane = await createControlPlane({ store, isMasterKey: (token) => token === adminKey });
  const options = llmuxOptions("auth");
  const config = options.config as { general_settings?: Record<string, unknown> };
  config.general_settings = { ...config.general_settings, master_key: adminKey };
  const gateway = llmux({ ...options, plugins: [...(options.plugins ?? []), plane] });
  await gateway.gateway.ready;
  const app = express();
  app.disable("x-powered-by");
  app.use("/v1", gateway, gateway.errorHandler);
  const server = app.listen(0, "127.0.0.1");
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
      mode: "virtual-key",
      plugins: gateway.gateway.plugins().map((plugin) => plugin.name),
    },
    flush: () => gateway.gateway.flush(),
    telemetry: () => llmuxTelemetry(gateway.gateway),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.gateway.shutdown();
      await store.close();
    },
  };
});
