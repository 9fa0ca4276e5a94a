/**
 * Two gateway instances, one Redis (the shared one at 127.0.0.1:6379, each test under its own key
 * prefix): what one instance learns or counts, the other respects.
 */
import type { LlmuxConfig } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { awayFromMinuteEdge, chat, eventually, type Instance, startInstance } from "./gateway-support";
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

function deployment(group: string, id: string, scenario: string, extra: Record<string, unknown> = {}) {
  return {
    model_name: group,
    litellm_params: {
      model: "openai/gpt-4o-mini",
      api_key: "sk-test-upstream",
      api_base: `${mock.scenarioUrl(scenario)}/v1`,
      ...extra,
    },
    model_info: { id },
  };
}

async function twoInstances(config: (prefix: string) => LlmuxConfig): Promise<[Instance, Instance, string]> {
  const prefix = testPrefix("gw");
  prefixes.push(prefix);
  const a = await startInstance(config(prefix));
  const b = await startInstance(config(prefix));
  instances.push(a, b);
  return [a, b, prefix];
}

const ask = (model: string) => ({ model, messages: [{ role: "user", content: "hello" }] });

describe("two instances sharing one Redis", () => {
  it("a cooldown set by instance A is respected by instance B within a second", async () => {
    mock.scenario("bad-a", { status: 500 });
    const [a, b] = await twoInstances((prefix) => ({
      model_list: [
        deployment("g", "bad", "bad-a", { order: 1 }),
        deployment("g", "good", "good-a", { order: 2 }),
      ],
      router_settings: {
        redis_url: SHARED_REDIS_URL,
        redis_key_prefix: prefix,
        num_retries: 1,
        allowed_fails: 1,
        cooldown_time: 60,
      },
    }));
    // A: the first attempt goes to "bad" (order 1), fails with 500 and cools it; the retry serves from "good"
    const first = await chat(a.base, ask("g"));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-llmux-model-id")).toBe("good");
    expect(a.gateway.router.coolingDeployments().map((entry) => entry.deployment.id)).toEqual(["bad"]);
    // B never called "bad": it learns of the cooldown from Redis
    const learned = await eventually(
      () => b.gateway.router.coolingDeployments().some((entry) => entry.deployment.id === "bad"),
      1_000,
    );
    if (!learned) console.log(JSON.stringify([a.logs, b.logs]));
    expect(learned).toBe(true);
    const badCallsBefore = mock.requests.filter((request) => request.scenario === "bad-a").length;
    for (let index = 0; index < 5; index++) {
      const result = await chat(b.base, ask("g"));
      expect(result.status).toBe(200);
      expect(result.headers.get("x-llmux-model-id")).toBe("good");
    }
    // B sent nothing to the cooling deployment (order 1 would otherwise be tried first)
    expect(mock.requests.filter((request) => request.scenario === "bad-a").length).toBe(badCallsBefore);
  });

  it("an rpm limit of 10 across both instances lets exactly 10 calls through in the minute", async () => {
    await awayFromMinuteEdge(15_000);
    const [a, b] = await twoInstances((prefix) => ({
      model_list: [
        deployment("limited", "only", "limited", { rpm: 10 }),
        deployment("warm", "warm-up", "warm"),
      ],
      router_settings: { redis_url: SHARED_REDIS_URL, redis_key_prefix: prefix, num_retries: 0 },
    }));
    // one call per instance on another group first: connections and code paths warm
    await Promise.all([chat(a.base, ask("warm")), chat(b.base, ask("warm"))]);
    // both instances at once, 8 calls each, one after the other on each instance
    const serve = async (instance: Instance) => {
      const statuses: number[] = [];
      for (let index = 0; index < 8; index++)
        statuses.push((await chat(instance.base, ask("limited"))).status);
      return statuses;
    };
    const [fromA, fromB] = await Promise.all([serve(a), serve(b)]);
    const statuses = [...fromA!, ...fromB!];
    console.log(
      `16 calls over 2 instances, rpm 10: A ${fromA!.join(",")} B ${fromB!.join(",")}`,
      JSON.stringify([a.logs, b.logs].map((logs) => logs.filter((line) => line.level === "warn"))),
    );
    expect(statuses.filter((status) => status === 200).length).toBe(10);
    expect(statuses.filter((status) => status === 429).length).toBe(6);
    expect(mock.requests.filter((request) => request.scenario === "limited").length).toBe(10);
    // both instances served some of the 10
    expect(fromA!.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect(fromB!.filter((status) => status === 200).length).toBeGreaterThan(0);
  });

  it("B serves a cache hit for A's call, streamed and not (cache_params.type: redis)", async () => {
    const [a, b, prefix] = await twoInstances((prefix) => ({
      model_list: [deployment("cached", "cached-one", "cached", { input_cost_per_token: 0.000001 })],
      router_settings: { redis_url: SHARED_REDIS_URL, redis_key_prefix: prefix },
      litellm_settings: { cache: true, cache_params: { type: "redis", ttl: 60, namespace: "ns1" } },
    }));
    const body = { model: "cached", messages: [{ role: "user", content: "share this answer" }] };
    const first = await chat(a.base, body);
    expect(first.headers.get("x-llmux-cache")).toBe("miss");
    // the entry is written in the background: B finds it as soon as it is there
    let second = await chat(b.base, body);
    for (let tries = 0; tries < 20 && second.headers.get("x-llmux-cache") !== "hit"; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      second = await chat(b.base, body);
    }
    expect(second.status).toBe(200);
    expect(second.headers.get("x-llmux-cache")).toBe("hit");
    expect(second.headers.get("x-llmux-response-cost")).toBe("0");
    expect(second.json.choices).toEqual(first.json.choices);
    const upstream = () => mock.requests.filter((request) => request.scenario === "cached").length;
    const callsSoFar = upstream();

    const streamed = { ...body, stream: true };
    const live = await chat(a.base, streamed);
    expect(live.headers.get("x-llmux-cache")).toBe("miss");
    let replay = await chat(b.base, streamed);
    for (let tries = 0; tries < 20 && replay.headers.get("x-llmux-cache") !== "hit"; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      replay = await chat(b.base, streamed);
    }
    expect(replay.headers.get("x-llmux-cache")).toBe("hit");
    expect(replay.headers.get("content-type")).toContain("text/event-stream");
    expect(replay.text).toBe(live.text);
    expect(upstream()).toBe(callsSoFar + 1);
    // entries live under the instance prefix and the namespace; their keys are hashes
    const keys = await redis.keys(`${prefix}cache:*`);
    expect(keys.length).toBe(2);
    expect(keys.every((key) => /cache:ns1:chat:[0-9a-f]{64}$/.test(key))).toBe(true);
  });

  it("the counters plugins use (key/user/team budgets and limits) are one across instances", async () => {
    const [a, b] = await twoInstances((prefix) => ({
      model_list: [deployment("g", "plain", "plain")],
      router_settings: { redis_url: SHARED_REDIS_URL, redis_key_prefix: prefix },
    }));
    await awayFromMinuteEdge(5_000);
    // what @llmux/control does with gateway.sharedState: spend added after each call, checked before the next
    expect(a.gateway.sharedState.kind).toBe("fallback(redis)");
    await a.gateway.sharedState.incr("key:hash-of-key:spend", 0.4);
    await b.gateway.sharedState.incr("key:hash-of-key:spend", 0.7);
    expect(await a.gateway.sharedState.get("key:hash-of-key:spend")).toBeCloseTo(1.1, 9);
    expect(await b.gateway.sharedState.get("key:hash-of-key:spend")).toBeCloseTo(1.1, 9);
    // a per-key rpm of 5, checked alternately from both instances: exactly 5 pass (the race itself is in
    // the contract suite, against Redis without a deadline)
    const checks = [];
    for (let index = 0; index < 12; index++) {
      const instance = index % 2 ? a : b;
      checks.push(await instance.gateway.sharedState.tryIncrWindow("key:hash-of-key:rpm", 1, 60_000, 5));
    }
    expect(checks.filter((check) => check.allowed).length).toBe(5);
  });

  it("in-flight calls and tpm usage of one instance are seen by the other", async () => {
    mock.scenario("slow", { latencyMs: 800 });
    const [a, b] = await twoInstances((prefix) => ({
      model_list: [deployment("busy", "slow-one", "slow")],
      router_settings: { redis_url: SHARED_REDIS_URL, redis_key_prefix: prefix, redis_sync_interval_ms: 50 },
    }));
    const pending = [chat(a.base, ask("busy")), chat(a.base, ask("busy"))];
    const seen = await eventually(() => b.gateway.router.inFlight("slow-one") === 2, 700);
    expect(seen).toBe(true);
    await Promise.all(pending);
    expect(await eventually(() => b.gateway.router.inFlight("slow-one") === 0, 1_000)).toBe(true);
  });
});
