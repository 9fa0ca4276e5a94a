/**
 * Child process: llmux on Express 5 with the control plane of @llmux/control (PGlite in memory, or a fresh
 * database on the PostgreSQL server at BENCH_CONTROL_POSTGRES_URL, dropped at the end): the
 * key the load generator sends (BENCH_MASTER_KEY) is a *virtual key* here — checked from the cache,
 * its budget and rpm limit applied, one spend log row written per call in batches — while the master key
 * is another one. Compare with `llmux-express-with:auth` (the same key as the master key) in one run:
 *   npm run bench -- --targets llmux-express-with:auth,llmux-express-keys
 * With BENCH_LLMUX_MODE=all (targets llmux-express-all-keys[-pg]) everything else is on too, as in
 * llmux-express-all. With BENCH_CONTROL_METER=1 it prints the control plane's own time per call every
 * 5 s (see control-meter.ts).
 */
import type { AddressInfo } from "node:net";
import { abbreviateKey, createControlPlane, hashKey, openStore } from "@llmux/control";
import { llmux } from "@llmux/express";
import express from "express";
import pg from "pg";
import { serveChild } from "../server-protocol";
import { BENCH_MASTER_KEY } from "./bench-keys";
import { meterControlPlane } from "./control-meter";
import { llmuxOptions, llmuxTelemetry } from "./llmux-options";

/** A database of this run's own on the PostgreSQL server (the bench's "-pg" target), dropped at close. */
async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `llmux_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

serveChild(async () => {
  const postgresUrl = process.env.BENCH_CONTROL_POSTGRES_URL;
  const database = postgresUrl ? await createDatabase(postgresUrl) : undefined;
  const store = await openStore(database ? { databaseUrl: database.url } : { dataDir: "memory://" });
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
  if (process.env.BENCH_CONTROL_METER) meterControlPlane(plane, store);
  // "auth" (compare with llmux-express-with:auth) or "all" (compare with llmux-express-all).
  const options = llmuxOptions(process.env.BENCH_LLMUX_MODE ?? "auth");
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
      mode: `virtual-key, ${process.env.BENCH_LLMUX_MODE ?? "auth"}`,
      store: database ? "postgresql" : "pglite",
      plugins: gateway.gateway.plugins().map((plugin) => plugin.name),
    },
    flush: () => gateway.gateway.flush(),
    telemetry: () => llmuxTelemetry(gateway.gateway),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.gateway.shutdown();
      await store.close();
      await database?.drop();
    },
  };
});
