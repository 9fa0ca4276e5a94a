/**
 * Two gateway instances, one PostgreSQL database and one Redis (127.0.0.1:6379, a key prefix of this
 * test's own): a key's budget is one budget across both. Each instance caches the key for a minute
 * (user_api_key_cache_ttl: 60), so the only way instance A can know what B spent is the shared spend
 * counter in Redis; without it, A would admit calls past the budget until its cache refreshed.
 */
import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, MASTER_KEY, startGateway, testConfig } from "./gateway-harness";
import { createTestDatabase } from "./postgres";

const REDIS_URL = process.env.LLMUX_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

describe("a key's budget across two instances sharing Redis", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    database = await createTestDatabase();
    const prefix = `llmux-test-${randomBytes(4).toString("hex")}:`;
    const config = () => ({
      ...testConfig({ database_url: database.url, proxy_batch_write_at: 0.05, user_api_key_cache_ttl: 60 }),
      router_settings: { redis_url: REDIS_URL, redis_key_prefix: prefix },
    });
    a = await startGateway({ config: config() });
    b = await startGateway({ config: config() });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it("stops a call on A right after B's call crossed the budget (spend shared through Redis at once)", async () => {
    expect(a.gateway.sharedState.kind).toBe("fallback(redis)");
    const probe = await a.call("POST", "/key/generate", MASTER_KEY, {});
    const first = await a.chat(probe.body.key);
    const cost = Number(first.headers.get("x-llmux-response-cost"));
    expect(cost).toBeGreaterThan(0);

    const created = await a.call("POST", "/key/generate", MASTER_KEY, { max_budget: cost * 1.5 });
    expect(created.status).toBe(200);
    const key = created.body.key as string;
    // Both instances cache the key (spend 0) before anything is spent.
    expect((await a.chat(key)).status).toBe(200); // spend c on A
    const onB = await b.chat(key); // B's cached record says 0, Redis says c < 1.5c: admitted, spend 2c
    expect(onB.status).toBe(200);
    // Redis is written when a call ends, off the request path: wait until both calls are counted there.
    const counter = `llmux:control:spend:key:${createHash("sha256").update(key).digest("hex")}:lifetime`;
    while ((await a.gateway.sharedState.get(counter)) < cost * 2 - 1e-12) await sleep(10);
    const refused = await a.chat(key);
    expect(refused.status).toBe(400);
    expect(refused.body.error.type).toBe("budget_exceeded");
    // A refused on the shared view: 2c spent, of which only c on A.
    const spent = Number(/Current cost: ([\d.]+)/.exec(refused.body.error.message)![1]);
    expect(spent).toBeCloseTo(cost * 2, 6);
  });
});
