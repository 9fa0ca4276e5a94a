/**
 * What an operator sees: with `callbacks: [prometheus]`, a Redis that is down shows in
 * llmux_shared_state_errors_total / llmux_shared_state_degraded, and cache hits in llmux_cache_hits_total
 * and llmux_cache_saved_cost_usd_total (scraped over HTTP from GET /metrics).
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, type Instance, startInstance } from "./gateway-support";
import { freePort } from "./support";

let mock: MockProvider;
let instance: Instance;

beforeAll(async () => {
  mock = await startMockProvider();
  const port = await freePort(); // nothing listens there: Redis is down for the whole test
  instance = await startInstance({
    model_list: [
      {
        model_name: "g",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_key: "sk-upstream",
          api_base: `${mock.url}/v1`,
          input_cost_per_token: 0.000001,
          output_cost_per_token: 0.000002,
        },
        model_info: { id: "g-one" },
      },
    ],
    router_settings: { redis_host: "127.0.0.1", redis_port: port, redis_sync_interval_ms: 50 },
    litellm_settings: { callbacks: ["prometheus"], cache: true, cache_params: { type: "local" } },
  });
});
afterAll(async () => {
  await instance.close();
  await mock.close();
});

const sample = (text: string, name: string): number | undefined => {
  const line = text.split("\n").find((entry) => entry.startsWith(name));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
};

describe("shared state and cache metrics", () => {
  it("count Redis errors, the degraded state, cache hits, misses and the cost a hit saved", async () => {
    const body = { model: "g", messages: [{ role: "user", content: "metrics" }] };
    const miss = await chat(instance.base, body);
    const hit = await chat(instance.base, body);
    expect([miss.status, hit.status]).toEqual([200, 200]);
    expect(hit.headers.get("x-llmux-cache")).toBe("hit");
    await instance.gateway.flush();
    const response = await fetch(`${instance.base}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(sample(text, 'llmux_shared_state_errors_total{store="redis"}')).toBeGreaterThan(0);
    expect(sample(text, 'llmux_shared_state_degraded{store="redis"}')).toBe(1);
    expect(sample(text, "llmux_cache_hits_total{")).toBe(1);
    expect(sample(text, "llmux_cache_misses_total{")).toBe(1);
    // the router's delta sync (every 50 ms) cannot write to a Redis that is down: failed flushes, nothing
    // written, the deployment's one request pending (the cache hit never reached it); scraped again until the first sync after the calls has run
    let syncText = text;
    for (let attempt = 0; attempt < 40; attempt++) {
      if ((sample(syncText, 'llmux_shared_state_flush_failures_total{store="redis"}') ?? 0) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
      syncText = await (await fetch(`${instance.base}/metrics`)).text();
    }
    expect(sample(syncText, 'llmux_shared_state_flush_failures_total{store="redis"}')).toBeGreaterThan(0);
    expect(sample(syncText, 'llmux_shared_state_flushes_total{store="redis"}')).toBe(0);
    expect(sample(syncText, 'llmux_shared_state_deltas_pending{store="redis",kind="requests"}')).toBe(1);
    expect(sample(text, "llmux_cache_saved_cost_usd_total{")).toBeCloseTo(
      Number(miss.headers.get("x-llmux-response-cost")),
      12,
    );
  });
});

describe("the router's delta sync on the real Redis (127.0.0.1:6379)", () => {
  it("shows flushes taken, none failed and nothing pending after the calls were synced", async () => {
    const live = await startInstance({
      model_list: [
        {
          model_name: "g",
          litellm_params: { model: "openai/gpt-4o-mini", api_key: "sk-upstream", api_base: `${mock.url}/v1` },
          model_info: { id: `g-sync-${process.pid}-${Date.now()}` },
        },
      ],
      router_settings: { redis_host: "127.0.0.1", redis_port: 6379, redis_sync_interval_ms: 50 },
      litellm_settings: { callbacks: ["prometheus"] },
    });
    try {
      for (let call = 0; call < 3; call++) {
        const answer = await chat(live.base, {
          model: "g",
          messages: [{ role: "user", content: `sync ${call}` }],
        });
        expect(answer.status).toBe(200);
      }
      // sent: three calls; the sync runs every 50 ms, so within a second the counts have been written
      let text = "";
      for (let attempt = 0; attempt < 40; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        text = await (await fetch(`${live.base}/metrics`)).text();
        if (
          (sample(text, 'llmux_shared_state_flushes_total{store="redis"}') ?? 0) > 0 &&
          sample(text, 'llmux_shared_state_deltas_pending{store="redis",kind="requests"}') === 0
        )
          break;
      }
      expect(sample(text, 'llmux_shared_state_flushes_total{store="redis"}')).toBeGreaterThan(0);
      expect(sample(text, 'llmux_shared_state_flush_failures_total{store="redis"}')).toBe(0);
      expect(sample(text, 'llmux_shared_state_deltas_pending{store="redis",kind="requests"}')).toBe(0);
      expect(sample(text, 'llmux_shared_state_deltas_dropped_total{store="redis",kind="requests"}')).toBe(0);
    } finally {
      await live.close();
    }
  });
});
