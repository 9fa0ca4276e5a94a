import { randomUUID } from "node:crypto";
import type {
  Clock,
  FailurePolicy,
  FailureResult,
  SharedDelta,
  SharedState,
  TakeResult,
  WindowResult,
} from "@llmux/core";
import type { Redis } from "ioredis";
import { SCRIPTS, type ScriptName } from "./scripts";

export interface RedisSharedStateOptions {
  /** The caller's ioredis client; the store never opens a connection itself, and closes it only if `ownsClient`. */
  client: Redis;
  /** Prepended to every key (e.g. `llmux:prod:`), so several deployments or tests share one Redis. */
  prefix?: string;
  clock?: Clock;
  /** Close the client on close() (true when @llmux/redis created it from the config). */
  ownsClient?: boolean;
}

type ScriptClient = Redis & {
  [name in ScriptName]: (...args: Array<string | number>) => Promise<unknown>;
};

/**
 * SharedState on Redis. Every read-modify-write is one Lua script (atomic, one round trip); reads are one
 * GET/MGET. Windows are fixed and aligned to the epoch by the instances' clocks (`floor(now / windowMs)`),
 * so instances whose clocks agree within NTP accuracy count in the same window. Expiries are only garbage
 * collection: every value read is checked against the clock.
 *
 * Deadlines and fallback are not here: the gateway wraps this store in `withFallback` (50 ms per
 * operation, then local state).
 */
export class RedisSharedState implements SharedState {
  readonly kind = "redis";
  readonly client: ScriptClient;
  private readonly prefix: string;
  private readonly clock: Clock;

  constructor(private readonly options: RedisSharedStateOptions) {
    this.prefix = options.prefix ?? "llmux:";
    this.clock = options.clock ?? { now: () => Date.now() };
    const client = options.client as ScriptClient;
    for (const [name, script] of Object.entries(SCRIPTS)) {
      if (typeof (client as unknown as Record<string, unknown>)[name] !== "function")
        client.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.client = client;
  }

  private now(): number {
    return Math.floor(this.clock.now());
  }

  /** The key of the window containing `at`, and how long it must live from now. */
  private windowKey(key: string, windowMs: number, at: number, now = at): { key: string; ttlMs: number } {
    const index = Math.floor(at / windowMs);
    // kept one window longer than needed: instances' clocks differ a little
    return { key: `${this.prefix}w:${key}:${windowMs}:${index}`, ttlMs: (index + 2) * windowMs - now };
  }

  async incrWindow(key: string, by: number, windowMs: number): Promise<number> {
    const window = this.windowKey(key, windowMs, this.now());
    return Number(await this.client.llmuxIncr(window.key, by, Math.ceil(window.ttlMs)));
  }

  async getWindow(key: string, windowMs: number): Promise<number> {
    return Number((await this.client.get(this.windowKey(key, windowMs, this.now()).key)) ?? 0);
  }

  async tryIncrWindow(key: string, by: number, windowMs: number, limit: number): Promise<WindowResult> {
    const window = this.windowKey(key, windowMs, this.now());
    const [allowed, count] = (await this.client.llmuxTryIncr(
      window.key,
      by,
      limit,
      Math.ceil(window.ttlMs),
    )) as [number, string];
    return { allowed: allowed === 1, count: Number(count) };
  }

  async takeWindow(key: string, max: number, windowMs: number, limit: number): Promise<TakeResult> {
    const window = this.windowKey(key, windowMs, this.now());
    const [granted, count] = (await this.client.llmuxTake(
      window.key,
      max,
      limit,
      Math.ceil(window.ttlMs),
    )) as [number, string];
    return { granted: Number(granted), count: Number(count) };
  }

  /** One pipeline: one round trip for the whole batch. Rejects when any addition failed. */
  async applyDeltas(deltas: readonly SharedDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const now = this.now();
    const pipeline = this.client.pipeline() as unknown as {
      [name in ScriptName]: (...args: Array<string | number>) => unknown;
    } & { exec(): Promise<Array<[Error | null, unknown]> | null> };
    let queued = 0;
    for (const delta of deltas) {
      if (delta.kind === "window") {
        const window = this.windowKey(delta.key, delta.windowMs, delta.at, now);
        if (window.ttlMs <= 0) continue; // a window long over: nobody reads it
        pipeline.llmuxIncr(window.key, delta.by, Math.ceil(window.ttlMs));
      } else {
        const ttl = delta.ttlMs === undefined ? "" : Math.max(1, Math.ceil(delta.ttlMs));
        pipeline.llmuxAddInFlight(`${this.prefix}if:${delta.key}`, delta.by, ttl);
      }
      queued++;
    }
    if (queued === 0) return;
    const results = await pipeline.exec();
    if (!results) throw new Error("the pipeline was not executed");
    for (const [error] of results) if (error) throw error;
  }

  async incr(key: string, by: number, ttlMs?: number): Promise<number> {
    const ttl = ttlMs === undefined ? "" : Math.max(1, Math.ceil(ttlMs));
    return Number(await this.client.llmuxIncr(`${this.prefix}c:${key}`, by, ttl));
  }

  async get(key: string): Promise<number> {
    return Number((await this.client.get(`${this.prefix}c:${key}`)) ?? 0);
  }

  async getMany(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(keys.map((key) => `${this.prefix}c:${key}`));
    return values.map((value) => Number(value ?? 0));
  }

  async set(key: string, value: number, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.client.set(`${this.prefix}c:${key}`, String(value));
    else await this.client.set(`${this.prefix}c:${key}`, String(value), "PX", Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.client.del(`${this.prefix}c:${key}`);
  }

  async acquire(key: string, options: { limit?: number; ttlMs?: number } = {}): Promise<WindowResult> {
    const [allowed, count] = (await this.client.llmuxAcquire(
      `${this.prefix}if:${key}`,
      options.limit ?? "",
      options.ttlMs === undefined ? "" : Math.max(1, Math.ceil(options.ttlMs)),
    )) as [number, number];
    return { allowed: allowed === 1, count: Number(count) };
  }

  async release(key: string): Promise<number> {
    return Number(await this.client.llmuxRelease(`${this.prefix}if:${key}`));
  }

  async inFlight(key: string): Promise<number> {
    return Number((await this.client.get(`${this.prefix}if:${key}`)) ?? 0);
  }

  private failureKeys(id: string): [string, string] {
    // one hash tag per deployment: both keys of a script live on the same Redis Cluster slot
    return [`${this.prefix}f:{${id}}`, `${this.prefix}cd:{${id}}`];
  }

  async recordFailure(id: string, policy: FailurePolicy): Promise<FailureResult> {
    const [failuresKey, cooldownKey] = this.failureKeys(id);
    const [failures, until] = (await this.client.llmuxFailure(
      failuresKey,
      cooldownKey,
      this.now(),
      Math.max(1, Math.ceil(policy.windowMs)),
      policy.allowedFails ?? 0,
      Math.ceil(policy.cooldownMs ?? 0),
      randomUUID(),
    )) as [number, string];
    return until
      ? { failures: Number(failures), cooldownUntil: Number(until) }
      : { failures: Number(failures) };
  }

  async setCooldown(id: string, until: number): Promise<void> {
    const [failuresKey, cooldownKey] = this.failureKeys(id);
    await this.client.llmuxCooldown(cooldownKey, failuresKey, Math.ceil(until), this.now());
  }

  async getCooldowns(ids: readonly string[]): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    if (ids.length === 0) return result;
    const values = await this.client.mget(ids.map((id) => this.failureKeys(id)[1]));
    const now = this.clock.now();
    ids.forEach((id, index) => {
      const until = Number(values[index] ?? 0);
      if (until > now) result.set(id, until);
    });
    return result;
  }

  async close(): Promise<void> {
    if (this.options.ownsClient) this.options.client.disconnect();
  }
}
