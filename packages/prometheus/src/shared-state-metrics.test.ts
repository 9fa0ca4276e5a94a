/**
 * The router's delta sync (SharedRouterState's deltaStats) as metrics: a real SharedRouterState of
 * @llmux/core on a store that fails on demand, reported through the plugin's observeSharedState the
 * way the gateway reports its shared state, and `GET /metrics` scraped from a real node:http server.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { PluginRoute, SharedStateStatsSource } from "@llmux/callbacks";
import { MemorySharedState, manualClock, SharedRouterState, type SharedState } from "@llmux/core";
import { afterEach, expect, it } from "vitest";
import { prometheusPlugin } from "./prometheus-plugin";
import { parseExposition, select, sum } from "./test-support/exposition";

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(route: PluginRoute): Promise<string> {
  const server = createServer((request, response) => {
    Promise.resolve(route.handle(request, response)).catch(() => response.writeHead(500).end());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${route.path}`;
}

/** A store whose every operation fails while `failing` is set (Redis down). */
function failable(inner: SharedState): { store: SharedState; fail(next: boolean): void } {
  let failing = false;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return (...args: unknown[]) =>
        failing
          ? Promise.reject(new Error("connection refused"))
          : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  }) as SharedState;
  return {
    store,
    fail(next) {
      failing = next;
    },
  };
}

it("exports the delta sync's flushes, failed flushes, pending and dropped counts, per store", async () => {
  const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
  const { store, fail } = failable(new MemorySharedState(clock));
  const state = new SharedRouterState({
    deploymentIds: ["d1"],
    allowedFails: 3,
    cooldownMs: 5_000,
    clock,
    syncIntervalMs: 60_000, // the test flushes itself
  });
  state.attach(store);
  const source: SharedStateStatsSource = {
    stats: () => ({ store: "redis", errors: 0, degraded: false, deltas: state.deltaStats }),
  };
  const plugin = prometheusPlugin();
  plugin.observeSharedState?.(source);
  // a source without delta statistics (no shared router state) adds no series
  plugin.observeSharedState?.({ stats: () => ({ store: "memory", errors: 0, degraded: false }) });
  const url = await serve(plugin.routes[0] as PluginRoute);
  const scrape = async () => parseExposition(await (await fetch(url)).text());

  // one flush taken, then an outage: counts kept (pending) and a flush refused
  state.recordRequest("d1", clock.now());
  state.recordTokens("d1", 40, clock.now());
  await state.flush();
  fail(true);
  state.acquire("d1");
  state.recordRequest("d1", clock.now());
  state.recordRequest("d1", clock.now());
  state.recordTokens("d1", 500, clock.now());
  await state.flush();
  let samples = await scrape();
  expect(sum(samples, "llmux_shared_state_flushes_total", { store: "redis" })).toBe(1);
  expect(sum(samples, "llmux_shared_state_flush_failures_total", { store: "redis" })).toBe(1);
  expect(sum(samples, "llmux_shared_state_deltas_pending", { store: "redis", kind: "requests" })).toBe(2);
  expect(sum(samples, "llmux_shared_state_deltas_pending", { store: "redis", kind: "tokens" })).toBe(500);
  expect(sum(samples, "llmux_shared_state_deltas_pending", { store: "redis", kind: "in_flight" })).toBe(1);
  expect(sum(samples, "llmux_shared_state_deltas_dropped_total", { store: "redis", kind: "requests" })).toBe(
    0,
  );
  expect(select(samples, "llmux_shared_state_flushes_total", { store: "memory" })).toEqual([]);

  // the outage outlasts the minute after the counts' minute: they can never be written
  clock.advance(120_000);
  fail(false);
  await state.flush();
  samples = await scrape();
  expect(sum(samples, "llmux_shared_state_deltas_dropped_total", { store: "redis", kind: "requests" })).toBe(
    2,
  );
  expect(sum(samples, "llmux_shared_state_deltas_dropped_total", { store: "redis", kind: "tokens" })).toBe(
    500,
  );
  expect(sum(samples, "llmux_shared_state_deltas_pending", { store: "redis", kind: "requests" })).toBe(0);
  expect(sum(samples, "llmux_shared_state_deltas_pending", { store: "redis", kind: "tokens" })).toBe(0);
  // the call still in flight was written with this flush
  expect(sum(samples, "llmux_shared_state_deltas_pending", { store: "redis", kind: "in_flight" })).toBe(0);
  expect(sum(samples, "llmux_shared_state_flushes_total", { store: "redis" })).toBe(2);
  expect(sum(samples, "llmux_shared_state_flush_failures_total", { store: "redis" })).toBe(1);
  // counters stay counters: scraped again, the same totals
  samples = await scrape();
  expect(sum(samples, "llmux_shared_state_deltas_dropped_total", { store: "redis", kind: "requests" })).toBe(
    2,
  );
  state.stop();
});
