import { type Clock, systemClock } from "../router/router-state";
import type {
  FailurePolicy,
  FailureResult,
  SharedDelta,
  SharedState,
  TakeResult,
  WindowResult,
} from "./shared-state";

interface Entry {
  value: number;
  /** Epoch ms after which the entry is gone; Infinity: never. */
  expiresAt: number;
}

/**
 * The in-process SharedState: one process, no network. It is the default store, and the local side of
 * `withFallback` when a shared store (Redis) fails. Expired entries are removed lazily and by a sweep
 * every `sweepEvery` writes, so memory stays bounded by the live keys.
 */
export class MemorySharedState implements SharedState {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly failures = new Map<string, number[]>();
  private readonly cooldowns = new Map<string, number>();
  private writes = 0;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly sweepEvery = 1_000,
  ) {}

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: number, expiresAt: number): void {
    this.entries.set(key, { value, expiresAt });
    if (++this.writes % this.sweepEvery === 0) this.sweep();
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const [id, until] of this.cooldowns) if (until <= now) this.cooldowns.delete(id);
  }

  private windowKey(key: string, windowMs: number, now: number): { key: string; expiresAt: number } {
    const index = Math.floor(now / windowMs);
    return { key: `${key}:w${windowMs}:${index}`, expiresAt: (index + 1) * windowMs };
  }

  async incrWindow(key: string, by: number, windowMs: number): Promise<number> {
    return this.incrWindowSync(key, by, windowMs);
  }

  /** Synchronous form, for callers in the same process (the fallback path). */
  incrWindowSync(key: string, by: number, windowMs: number): number {
    const now = this.clock.now();
    const window = this.windowKey(key, windowMs, now);
    const value = (this.live(window.key, now)?.value ?? 0) + by;
    this.write(window.key, value, window.expiresAt);
    return value;
  }

  async getWindow(key: string, windowMs: number): Promise<number> {
    const now = this.clock.now();
    return this.live(this.windowKey(key, windowMs, now).key, now)?.value ?? 0;
  }

  async tryIncrWindow(key: string, by: number, windowMs: number, limit: number): Promise<WindowResult> {
    const now = this.clock.now();
    const window = this.windowKey(key, windowMs, now);
    const current = this.live(window.key, now)?.value ?? 0;
    if (current + by > limit) return { allowed: false, count: current };
    this.write(window.key, current + by, window.expiresAt);
    return { allowed: true, count: current + by };
  }

  async takeWindow(key: string, max: number, windowMs: number, limit: number): Promise<TakeResult> {
    const now = this.clock.now();
    const window = this.windowKey(key, windowMs, now);
    const current = this.live(window.key, now)?.value ?? 0;
    const granted = Math.max(0, Math.min(max, limit - current));
    if (granted > 0) this.write(window.key, current + granted, window.expiresAt);
    return { granted, count: current + granted };
  }

  async applyDeltas(deltas: readonly SharedDelta[]): Promise<void> {
    const now = this.clock.now();
    for (const delta of deltas) {
      if (delta.kind === "window") {
        const window = this.windowKey(delta.key, delta.windowMs, delta.at);
        if (window.expiresAt <= now) continue; // a window already over: nobody reads it any more
        this.write(window.key, (this.live(window.key, now)?.value ?? 0) + delta.by, window.expiresAt);
        continue;
      }
      const entryKey = `${delta.key}:inflight`;
      const entry = this.live(entryKey, now);
      const expiresAt =
        delta.ttlMs !== undefined ? now + delta.ttlMs : (entry?.expiresAt ?? Number.POSITIVE_INFINITY);
      this.write(entryKey, Math.max(0, (entry?.value ?? 0) + delta.by), expiresAt);
    }
  }

  async incr(key: string, by: number, ttlMs?: number): Promise<number> {
    const now = this.clock.now();
    const entry = this.live(key, now);
    const value = (entry?.value ?? 0) + by;
    const expiresAt = ttlMs !== undefined ? now + ttlMs : (entry?.expiresAt ?? Number.POSITIVE_INFINITY);
    this.write(key, value, expiresAt);
    return value;
  }

  async get(key: string): Promise<number> {
    return this.live(key, this.clock.now())?.value ?? 0;
  }

  async getMany(keys: readonly string[]): Promise<number[]> {
    const now = this.clock.now();
    return keys.map((key) => this.live(key, now)?.value ?? 0);
  }

  async set(key: string, value: number, ttlMs?: number): Promise<void> {
    const now = this.clock.now();
    this.write(key, value, ttlMs !== undefined ? now + ttlMs : Number.POSITIVE_INFINITY);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async acquire(key: string, options: { limit?: number; ttlMs?: number } = {}): Promise<WindowResult> {
    const now = this.clock.now();
    const entryKey = `${key}:inflight`;
    const current = this.live(entryKey, now)?.value ?? 0;
    if (options.limit !== undefined && current + 1 > options.limit) return { allowed: false, count: current };
    const expiresAt = options.ttlMs !== undefined ? now + options.ttlMs : Number.POSITIVE_INFINITY;
    this.write(entryKey, current + 1, expiresAt);
    return { allowed: true, count: current + 1 };
  }

  async release(key: string): Promise<number> {
    const now = this.clock.now();
    const entryKey = `${key}:inflight`;
    const entry = this.live(entryKey, now);
    if (!entry) return 0;
    entry.value = Math.max(0, entry.value - 1);
    return entry.value;
  }

  async inFlight(key: string): Promise<number> {
    return this.live(`${key}:inflight`, this.clock.now())?.value ?? 0;
  }

  async recordFailure(id: string, policy: FailurePolicy): Promise<FailureResult> {
    const now = this.clock.now();
    const list = this.failures.get(id) ?? [];
    list.push(now);
    while (list.length > 0 && list[0]! <= now - policy.windowMs) list.shift();
    this.failures.set(id, list);
    const failures = list.length;
    if (policy.allowedFails && policy.cooldownMs && failures >= policy.allowedFails) {
      const until = now + policy.cooldownMs;
      this.setCooldownSync(id, until, now);
      return { failures, cooldownUntil: this.cooldowns.get(id)! };
    }
    return { failures };
  }

  async setCooldown(id: string, until: number): Promise<void> {
    this.setCooldownSync(id, until, this.clock.now());
  }

  private setCooldownSync(id: string, until: number, now: number): void {
    this.failures.delete(id);
    if (until <= now) return;
    const current = this.cooldowns.get(id);
    if (current === undefined || current <= now || until > current) this.cooldowns.set(id, until);
  }

  async getCooldowns(ids: readonly string[]): Promise<Map<string, number>> {
    const now = this.clock.now();
    const result = new Map<string, number>();
    for (const id of ids) {
      const until = this.cooldowns.get(id);
      if (until !== undefined && until > now) result.set(id, until);
    }
    return result;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.failures.clear();
    this.cooldowns.clear();
  }
}
