import { manualClock, sharedStateContract } from "@llmux/core";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisSharedState } from "../src/redis-shared-state";
import { deletePrefix, sharedRedis, testPrefix } from "./support";

let client: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  client = await sharedRedis();
});
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(client, prefix);
  client.disconnect();
});

// The same contract as MemorySharedState, against the real Redis at 127.0.0.1:6379 (own prefix per store).
sharedStateContract(
  "redis",
  (clock) => {
    const prefix = testPrefix("contract");
    prefixes.push(prefix);
    return new RedisSharedState({ client, prefix, clock });
  },
  { describe, it, expect, afterEach },
);

describe("RedisSharedState", () => {
  it("two stores on one Redis (two instances) see each other's counts and cooldowns", async () => {
    const prefix = testPrefix("two");
    prefixes.push(prefix);
    const clock = manualClock();
    const a = new RedisSharedState({ client, prefix, clock });
    const b = new RedisSharedState({ client, prefix, clock });
    await a.incrWindow("dep:rpm", 3, 60_000);
    expect(await b.incrWindow("dep:rpm", 1, 60_000)).toBe(4);
    await a.setCooldown("dep", clock.now() + 5_000);
    expect(await b.getCooldowns(["dep"])).toEqual(new Map([["dep", clock.now() + 5_000]]));
    await a.incr("team:spend", 0.5);
    expect(await b.get("team:spend")).toBe(0.5);
    // keys live under the prefix and carry only the names given
    const keys = await client.keys(`${prefix}*`);
    expect(keys.every((key) => key.startsWith(prefix))).toBe(true);
    expect(keys.length).toBeGreaterThanOrEqual(3);
  });

  it("a window key expires by itself after its window", async () => {
    const prefix = testPrefix("ttl");
    prefixes.push(prefix);
    const store = new RedisSharedState({ client, prefix });
    await store.incrWindow("short", 1, 1_000);
    const [key] = await client.keys(`${prefix}w:short:*`);
    const ttl = await client.pttl(key!);
    // kept at most two windows (instances' clocks differ a little), then gone
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000);
  });
});
