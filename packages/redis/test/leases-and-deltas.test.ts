/**
 * Local-first sharing on a real Redis: rpm served from leases taken atomically from the shared minute
 * window, and the router's counts written as deltas once per sync interval (and at shutdown) instead of
 * once per call.
 */
import type { LlmuxConfig, SharedRouterState } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { awayFromMinuteEdge, chat, type Instance, startInstance } from "./gateway-support";
import { deletePrefix, SHARED_REDIS_URL, sharedRedis, testPrefix } from "./support";

let mock: MockProvider;
let redis: Redis;
const prefixes: string[] = [];
const instances: Instance[] = [];

beforeAll(async () => {
  redis = await sharedRedis();
  mock = await startMockProvider();
});
afterEach(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.close()));
  mock.clear();
});
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  redis.disconnect();
  await mock.close();
});

function config(
  prefix: string,
  rpm: number | undefined,
  routerSettings: Record<string, unknown> = {},
): LlmuxConfig {
  return {
    model_list: [
      {
        model_name: "g",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_key: "sk-test-upstream",
          api_base: `${mock.scenarioUrl("leased")}/v1`,
          ...(rpm ? { rpm } : {}),
        },
        model_info: { id: "only" },
      },
    ],
    router_settings: {
      redis_url: SHARED_REDIS_URL,
      redis_key_prefix: prefix,
      num_retries: 0,
      ...routerSettings,
    },
  };
}

async function start(prefix: string, rpm: number | undefined, routerSettings?: Record<string, unknown>) {
  const instance = await startInstance(config(prefix, rpm, routerSettings));
  instances.push(instance);
  return instance;
}

const routerState = (instance: Instance) =>
  (instance.gateway.router as unknown as { state: SharedRouterState }).state;
const ask = { model: "g", messages: [{ role: "user", content: "hello" }] };

/** The value of the one window key of `name` (rpm, tpm) under the prefix, 0 when absent. */
async function windowCount(prefix: string, name: string): Promise<number> {
  const keys = await redis.keys(`${prefix}w:${name}:only:*`);
  const values = await Promise.all(keys.map((key) => redis.get(key)));
  return values.reduce((sum, value) => sum + Number(value ?? 0), 0);
}

describe("leases and deltas on Redis", () => {
  it("rpm 200 over two instances, calls racing: never more than 200 through, at most 2 × k (k = 2) unused", async () => {
    // The limit is per minute window: a run that crosses a minute's edge opens a second window and may
    // rightly pass more than 200; and a call whose Redis operation outlasts the 50 ms bound is admitted on
    // local state (calls never fail or wait for Redis). On a heavily loaded machine either can happen
    // (seen once: 202 passed), so such a run is said and repeated once (never counted as a pass).
    for (let run = 1; ; run++) {
      await awayFromMinuteEdge(20_000);
      const minute = Math.floor(Date.now() / 60_000);
      const outcome = await leaseRun();
      const crossed = Math.floor(Date.now() / 60_000) !== minute;
      if (!crossed && !outcome.fellBack) {
        await outcome.check();
        return;
      }
      const why = crossed
        ? "crossed a minute's edge"
        : "Redis did not answer within the bound and calls were admitted on local state (the availability rule)";
      console.log(`run ${run}: ${why}; ${outcome.passed} passed: run again`);
      expect(run).toBeLessThan(2);
    }
  });

  async function leaseRun(): Promise<{ passed: number; fellBack: boolean; check(): Promise<void> }> {
    const prefix = testPrefix("lease");
    prefixes.push(prefix);
    const a = await start(prefix, 200);
    const b = await start(prefix, 200);
    // 130 calls per instance, 10 at a time on each
    const serve = async (instance: Instance) => {
      const statuses: number[] = [];
      for (let batch = 0; batch < 13; batch++) {
        const results = await Promise.all(Array.from({ length: 10 }, () => chat(instance.base, ask)));
        statuses.push(...results.map((result) => result.status));
      }
      return statuses;
    };
    const [fromA, fromB] = await Promise.all([serve(a), serve(b)]);
    const statuses = [...fromA!, ...fromB!];
    const passed = statuses.filter((status) => status === 200).length;
    console.log(
      `260 calls over 2 instances, rpm 200: ${passed} passed (A ${fromA!.filter((status) => status === 200).length}, B ${fromB!.filter((status) => status === 200).length}); the shared window holds ${await windowCount(prefix, "rpm")}`,
    );
    const leased = mock.requests.filter((request) => request.scenario === "leased").length;
    mock.requests.length = 0;
    const fellBack = [a, b].some((instance) =>
      instance.logs.some((line) => line.level === "warn" && line.message.includes("shared state")),
    );
    return {
      passed,
      fellBack,
      async check() {
        expect(passed).toBeLessThanOrEqual(200);
        expect(passed).toBeGreaterThanOrEqual(200 - 2 * 2);
        expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
        expect(leased).toBe(passed);
        // what the instances took from the shared window: what passed plus the leases left
        const taken = await windowCount(prefix, "rpm");
        expect(taken).toBeLessThanOrEqual(200);
        expect(taken).toBeGreaterThanOrEqual(passed);
      },
    };
  }

  it("counts wait for the flush (once per sync interval), and shutdown writes what is pending", async () => {
    await awayFromMinuteEdge(10_000);
    const prefix = testPrefix("deltas");
    prefixes.push(prefix);
    // a sync interval longer than the test: only shutdown can write the counts
    const instance = await start(prefix, undefined, { redis_sync_interval_ms: 600_000 });
    let tokens = 0;
    for (let index = 0; index < 5; index++) {
      const result = await chat(instance.base, ask);
      expect(result.status).toBe(200);
      tokens += result.json.usage.total_tokens;
    }
    expect(tokens).toBeGreaterThan(0);
    // no call wrote anything
    expect(await windowCount(prefix, "tpm")).toBe(0);
    expect(await windowCount(prefix, "rpm")).toBe(0);
    expect(routerState(instance).deltaStats).toMatchObject({ pendingRequests: 5, pendingTokens: tokens });
    await instances.splice(instances.indexOf(instance), 1)[0]!.close();
    expect(await windowCount(prefix, "tpm")).toBe(tokens);
    expect(await windowCount(prefix, "rpm")).toBe(5);
    expect(Number(await redis.get(`${prefix}if:deployment:only`))).toBe(0);
  });
});
