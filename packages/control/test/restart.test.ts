/**
 * Durability: keys and spend survive a gateway restart (PGlite data directory), and a PostgreSQL restart
 * mid-run loses no acknowledged spend (a server of the test's own, stopped and started again while
 * calls keep coming with a cached key).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ControlPlane } from "../src/index";
import { MASTER_KEY, startGateway, testConfig } from "./gateway-harness";
import { startOwnPostgres } from "./own-postgres";

describe("restarts", () => {
  it("a database unreachable at start is a clear start-up error (gateway.ready rejects)", async () => {
    const { createGateway } = await import("@llmux/core");
    const gateway = createGateway({
      config: testConfig({ database_url: "postgres://postgres@127.0.0.1:1/nowhere" }),
      quietOpenWarning: true,
    });
    await expect(gateway.ready).rejects.toThrow(
      /llmux control plane: cannot migrate PostgreSQL at 127.0.0.1:1\/nowhere/,
    );
    await gateway.shutdown();
  });

  it("keys and spend survive a restart of the gateway (PGlite data directory)", async () => {
    const directory = mkdtempSync(join(tmpdir(), "llmux-store-"));
    try {
      const config = testConfig({ key_store: join(directory, "store") });
      const first = await startGateway({ config });
      const generated = await first.call("POST", "/key/generate", MASTER_KEY, { key_alias: "durable" });
      const costs: number[] = [];
      for (let index = 0; index < 3; index++) {
        const response = await first.chat(generated.body.key);
        expect(response.status).toBe(200);
        costs.push(Number(response.headers.get("x-llmux-response-cost")));
      }
      // Shutdown writes what is buffered (no explicit flush).
      await first.close();

      const second = await startGateway({ config });
      try {
        const info = await second.call("GET", `/key/info?key=${generated.body.key}`, MASTER_KEY);
        expect(info.status).toBe(200);
        expect(info.body.info.spend).toBeCloseTo(
          costs.reduce((sum, cost) => sum + cost, 0),
          12,
        );
        expect((await second.chat(generated.body.key)).status).toBe(200);
        await second.gateway.flush();
        const logs = await second.call("GET", `/spend/logs?api_key=${generated.body.key}`, MASTER_KEY);
        expect(logs.body).toHaveLength(4);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("a PostgreSQL restart mid-run: cached keys keep working, key creation answers 503, no acknowledged spend is lost", async () => {
    const server = await startOwnPostgres();
    const harness = await startGateway({
      config: testConfig({ database_url: server.url, proxy_batch_write_at: 0.05 }),
    });
    try {
      const plane = harness.gateway.plugins().find((plugin) => plugin.name === "control") as ControlPlane;
      const generated = await harness.call("POST", "/key/generate", MASTER_KEY, {
        key_alias: "through-restart",
        max_budget: 1000,
      });
      let acknowledged = 0;
      let calls = 0;
      const callOnce = async () => {
        const response = await harness.chat(generated.body.key);
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        acknowledged += Number(response.headers.get("x-llmux-response-cost"));
        calls++;
      };
      for (let index = 0; index < 3; index++) await callOnce();
      await harness.gateway.flush();

      await server.stop();
      for (let index = 0; index < 4; index++) await callOnce();
      const refused = await harness.call("POST", "/key/generate", MASTER_KEY, {});
      expect(refused.status).toBe(503);
      expect(refused.body.error.type).toBe("no_db_connection");
      // The writer notices the database is away and keeps the rows.
      const deadline = Date.now() + 60_000;
      while (plane.stats().spendWriteErrors === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(plane.stats().databaseDegraded).toBe(true);
      expect(plane.stats().spendRowsBuffered).toBe(4);

      await server.start();
      while (plane.stats().spendRowsBuffered > 0 && Date.now() < deadline + 60_000)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(plane.stats()).toMatchObject({
        spendRowsBuffered: 0,
        spendRowsDropped: 0,
        databaseDegraded: false,
      });
      const info = await harness.call("GET", `/key/info?key=${generated.body.key}`, MASTER_KEY);
      expect(info.status).toBe(200);
      expect(info.body.info.spend).toBeCloseTo(acknowledged, 12);
      const logs = await harness.call("GET", `/spend/logs?api_key=${generated.body.key}`, MASTER_KEY);
      expect(logs.body).toHaveLength(calls);
      expect((await harness.call("POST", "/key/generate", MASTER_KEY, {})).status).toBe(200);
    } finally {
      await harness.close();
      await server.destroy();
    }
  });
});
