/**
 * Redis faults never reach a caller: Redis killed mid-run, a Redis that accepts and never answers, a
 * wrong password, Redis down at start. Each test starts what it kills (its own redis-server on a free
 * port, or a silent TCP server).
 */
import type { LlmuxConfig, SharedRouterState } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { awayFromMinuteEdge, chat, eventually, type Instance, startInstance } from "./gateway-support";
import { freePort, type OwnRedis, silentServer, startOwnRedis } from "./support";

let mock: MockProvider;
const instances: Instance[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  mock = await startMockProvider();
});
afterEach(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.close()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
  mock.clear();
});
afterAll(async () => {
  await mock.close();
});

function config(routerSettings: Record<string, unknown>): LlmuxConfig {
  return {
    model_list: [
      {
        model_name: "g",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_key: "sk-upstream",
          api_base: `${mock.scenarioUrl("ok")}/v1`,
        },
        model_info: { id: "one" },
      },
      {
        model_name: "g",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_key: "sk-upstream",
          api_base: `${mock.scenarioUrl("two")}/v1`,
        },
        model_info: { id: "two" },
      },
    ],
    router_settings: { num_retries: 0, ...routerSettings },
  };
}

async function start(routerSettings: Record<string, unknown>): Promise<Instance> {
  const instance = await startInstance(config(routerSettings));
  instances.push(instance);
  return instance;
}

const ask = { model: "g", messages: [{ role: "user", content: "hello" }] };
const errorsOf = (instance: Instance) =>
  (instance.gateway as unknown as { sharedState: { errors: number; degraded: boolean } }).sharedState;

describe("Redis faults", () => {
  it("Redis killed mid-run: zero client errors, one warning, a counted error, and sharing resumes after it returns", async () => {
    const redis: OwnRedis = await startOwnRedis();
    cleanups.push(() => redis.stop());
    const settings = { redis_url: redis.url, redis_sync_interval_ms: 50 };
    const a = await start(settings);
    const b = await start(settings);
    const statuses: number[] = [];
    for (let index = 0; index < 5; index++) statuses.push((await chat(a.base, ask)).status);
    await redis.stop();
    // calls during the outage, on both instances
    for (let index = 0; index < 20; index++)
      statuses.push((await chat((index % 2 ? a : b).base, ask)).status);
    expect(statuses.every((status) => status === 200)).toBe(true);
    // The 20 calls may all end before A's next sync (every 50 ms) reaches the dead Redis: its failure
    // is counted then, within a few sync intervals.
    expect(await eventually(() => errorsOf(a).errors > 0, 2_000)).toBe(true);
    expect(errorsOf(a).degraded).toBe(true);
    const warnings = a.logs.filter((line) => line.level === "warn" && line.message.includes("shared state"));
    expect(warnings.length).toBe(1);
    console.log(
      `during the outage: ${errorsOf(a).errors} operations fell back; warning: ${warnings[0]?.message}`,
    );

    await redis.start();
    // sharing resumes without a restart: a cooldown set on A reaches B
    const recovered = await eventually(async () => {
      await chat(a.base, ask);
      return !errorsOf(a).degraded;
    }, 10_000);
    expect(recovered).toBe(true);
    a.gateway.router.deployments("g");
    (
      a.gateway.router as unknown as { state: { setCooldown(id: string, until: number): void } }
    ).state.setCooldown("two", Date.now() + 30_000);
    expect(
      await eventually(
        () => b.gateway.router.coolingDeployments().some((entry) => entry.deployment.id === "two"),
        3_000,
      ),
    ).toBe(true);
    expect(a.logs.some((line) => line.level === "info" && line.message.includes("answers again"))).toBe(true);
    for (let index = 0; index < 4; index++) expect((await chat(b.base, ask)).status).toBe(200);
  });

  it("Redis killed mid-run: the counts of the outage are kept (bounded, counted) and written when it returns", async () => {
    await awayFromMinuteEdge(20_000);
    const redis: OwnRedis = await startOwnRedis();
    cleanups.push(() => redis.stop());
    const a = await start({ redis_url: redis.url, redis_sync_interval_ms: 50 });
    const state = (a.gateway.router as unknown as { state: SharedRouterState }).state;
    expect((await chat(a.base, ask)).status).toBe(200);
    // the first call's counts are written by the next flush
    expect(await eventually(() => state.deltaStats.pendingTokens === 0, 2_000)).toBe(true);
    await redis.stop();
    let tokens = 0;
    for (let index = 0; index < 6; index++) {
      const result = await chat(a.base, ask);
      expect(result.status).toBe(200);
      tokens += result.json.usage.total_tokens;
    }
    // flushes fail and keep the deltas for the next one
    expect(await eventually(() => state.deltaStats.failedFlushes > 0, 2_000)).toBe(true);
    expect(state.deltaStats.pendingTokens).toBe(tokens);
    expect(state.deltaStats.pendingRequests).toBe(6);
    expect(state.deltaStats.pendingInFlight).toBe(0); // acquired and released: nothing to write
    await redis.start(); // empty: it does not persist
    expect(await eventually(() => state.deltaStats.pendingTokens === 0, 10_000)).toBe(true);
    const client = new Redis(redis.url);
    cleanups.push(async () => client.disconnect());
    const keys = await client.keys("llmux:w:tpm:*");
    const written = (await Promise.all(keys.map((key) => client.get(key)))).reduce(
      (sum, value) => sum + Number(value ?? 0),
      0,
    );
    expect(written).toBe(tokens);
    expect(state.deltaStats.droppedTokens).toBe(0);
  });

  it("a Redis that accepts connections and never answers never delays a call beyond the bound", async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const a = await start({ redis_host: "127.0.0.1", redis_port: silent.port });
    const durations: number[] = [];
    const overheads: number[] = [];
    for (let index = 0; index < 20; index++) {
      const result = await chat(a.base, { ...ask, model: "g" });
      expect(result.status).toBe(200);
      durations.push(result.milliseconds);
      overheads.push(Number(result.headers.get("x-llmux-overhead-ms")));
    }
    console.log(
      `silent Redis: call durations ${durations.map((value) => value.toFixed(0)).join(",")} ms; overhead max ${Math.max(...overheads).toFixed(1)} ms; errors ${errorsOf(a).errors}`,
    );
    // nothing waits on a connection that never becomes ready: no call comes near a hang
    expect(Math.max(...durations)).toBeLessThan(2_000);
    expect(errorsOf(a).degraded).toBe(true);
  });

  it("a Redis that hangs mid-run (SIGSTOP) delays no call beyond the 50 ms bound, and resumes after SIGCONT", async () => {
    const redis = await startOwnRedis();
    cleanups.push(async () => {
      redis.resume();
      await redis.stop();
    });
    // rpm set: every call waits on one shared reservation (the one Redis operation a call waits for)
    const instance = await startInstance({
      model_list: [
        {
          model_name: "limited",
          litellm_params: {
            model: "openai/gpt-4o-mini",
            api_key: "sk-upstream",
            api_base: `${mock.scenarioUrl("ok")}/v1`,
            rpm: 1_000,
          },
          model_info: { id: "limited-one" },
        },
      ],
      router_settings: { redis_url: redis.url, num_retries: 0 },
    });
    instances.push(instance);
    const call = () => chat(instance.base, { ...ask, model: "limited" });
    expect((await call()).status).toBe(200);
    redis.pause();
    const overheads: number[] = [];
    for (let index = 0; index < 12; index++) {
      const result = await call();
      expect(result.status).toBe(200);
      overheads.push(Number(result.headers.get("x-llmux-overhead-ms")));
    }
    console.log(
      `hung Redis: gateway overhead per call ${overheads.map((value) => value.toFixed(0)).join(",")} ms`,
    );
    // ioredis itself would wait 1 s (its commandTimeout): the calls were bounded by the 50 ms deadline,
    // and after three late answers in a row not even that (local state for a second)
    expect(Math.max(...overheads)).toBeLessThan(500);
    expect(overheads.filter((value) => value >= 45).length).toBeLessThanOrEqual(4);
    expect(errorsOf(instance).degraded).toBe(true);
    redis.resume();
    expect(
      await eventually(async () => {
        await call();
        return !errorsOf(instance).degraded;
      }, 10_000),
    ).toBe(true);
  });

  it("a wrong password: calls succeed on local state, one warning without the password, errors counted", async () => {
    const redis = await startOwnRedis(["--requirepass", "right-secret-123"]);
    cleanups.push(() => redis.stop());
    const a = await start({
      redis_host: "127.0.0.1",
      redis_port: redis.port,
      redis_password: "wrong-secret-456",
    });
    for (let index = 0; index < 5; index++) expect((await chat(a.base, ask)).status).toBe(200);
    expect(errorsOf(a).errors).toBeGreaterThan(0);
    const text = JSON.stringify(a.logs);
    expect(text).not.toContain("wrong-secret-456");
    expect(a.logs.filter((line) => line.level === "warn").length).toBe(1);
  });

  it("Redis down at start: the gateway starts on local state and shares once Redis comes up", async () => {
    const port = await freePort();
    const a = await start({ redis_host: "127.0.0.1", redis_port: port, redis_sync_interval_ms: 50 });
    for (let index = 0; index < 3; index++) expect((await chat(a.base, ask)).status).toBe(200);
    expect(errorsOf(a).degraded).toBe(true);
    const redis = await startOwnRedis([], port);
    cleanups.push(() => redis.stop());
    expect(
      await eventually(async () => {
        await chat(a.base, ask);
        return !errorsOf(a).degraded;
      }, 10_000),
    ).toBe(true);
  });
});
