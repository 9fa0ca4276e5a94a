/**
 * State that several gateway instances share: counters in fixed time windows (rpm/tpm limits, usage),
 * plain counters (budget spend), in-flight counts (max_parallel_requests, least-busy), deployment failure
 * counts and cooldowns. Every method returns a Promise, even in memory, so that a networked store
 * (@llmux/redis) implements the same interface. Times are epoch milliseconds from the store's clock.
 *
 * Keys are opaque strings chosen by the caller (e.g. `key:<hash>:rpm`); a store may prefix them. They must
 * never contain secrets (hash an api key before using it in a key).
 */
export interface SharedState {
  /** "memory", "redis", "fallback(redis)": for logs and metrics. */
  readonly kind: string;
  /**
   * Adds `by` to the counter of the current fixed window of `windowMs` (windows are aligned to the epoch:
   * `floor(now / windowMs)`) and returns the new count in that window. The window expires by itself.
   */
  incrWindow(key: string, by: number, windowMs: number): Promise<number>;
  /** The count of the current window of `windowMs` (0 when nothing was counted). */
  getWindow(key: string, windowMs: number): Promise<number>;
  /**
   * Atomic check-and-add: adds `by` to the current window only when the result stays within `limit`.
   * `allowed` says whether it was added; `count` is the window's count after the call. Exactly `limit`
   * units pass per window, whatever the number of instances.
   */
  tryIncrWindow(key: string, by: number, windowMs: number, limit: number): Promise<WindowResult>;
  /** Adds `by` (may be fractional: spend in USD) to a plain counter; `ttlMs` (re)sets its expiry. */
  incr(key: string, by: number, ttlMs?: number): Promise<number>;
  /** A plain counter's value (0 when absent). */
  get(key: string): Promise<number>;
  /** Several plain counters in one call (0 for absent ones), in the order asked. */
  getMany(keys: readonly string[]): Promise<number[]>;
  /** Sets a plain counter (e.g. a budget reset to 0). */
  set(key: string, value: number, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * One more call in flight for `key`; returns the new count. With `limit`, the slot is taken only when
   * the count stays within it (`allowed: false` otherwise). `ttlMs` bounds how long a slot leaked by a
   * crashed instance survives (refreshed by every acquire).
   */
  acquire(key: string, options?: { limit?: number; ttlMs?: number }): Promise<WindowResult>;
  /** One call fewer in flight; never below 0. Returns the new count. */
  release(key: string): Promise<number>;
  /** Calls in flight for `key`. */
  inFlight(key: string): Promise<number>;
  /**
   * Records a failure of `id` at the store's clock and counts the failures in the last `windowMs`. When
   * the count reaches `allowedFails`, the same atomic step sets a cooldown of `cooldownMs` and clears the
   * failures; `cooldownUntil` is then set.
   */
  recordFailure(id: string, options: FailurePolicy): Promise<FailureResult>;
  /** Cools `id` down until `until` (epoch ms), clearing its failures. A later `until` wins over an earlier one. */
  setCooldown(id: string, until: number): Promise<void>;
  /** Active cooldowns of the ids asked (ids not cooling are absent). */
  getCooldowns(ids: readonly string[]): Promise<Map<string, number>>;
  /**
   * Takes up to `max` units from the current window of `windowMs`, as many as still fit within `limit`,
   * atomically (a lease: the caller then serves that many requests without asking again). `granted` is
   * what was taken (0: the window is full), `count` the window's count after the call. Optional: without
   * it, leases are one unit each (`tryIncrWindow`).
   */
  takeWindow?(key: string, max: number, windowMs: number, limit: number): Promise<TakeResult>;
  /**
   * Applies several additions at once (one round trip on a networked store: a pipeline): window counters
   * (as `incrWindow`, in the window that contains `at`) and in-flight counts (`by` may be negative; never
   * below 0; `ttlMs` refreshes the expiry as `acquire` does). Rejects when the store did not take them, so
   * the caller can keep them for the next attempt. Optional: without it each addition is sent on its own.
   */
  applyDeltas?(deltas: readonly SharedDelta[]): Promise<void>;
  /** Releases timers and connections that the store owns (not a client passed in). */
  close(): Promise<void>;
}

export interface TakeResult {
  granted: number;
  count: number;
}

/** One addition of a batch (`applyDeltas`). */
export type SharedDelta =
  | { kind: "window"; key: string; by: number; windowMs: number; at: number }
  | { kind: "inFlight"; key: string; by: number; ttlMs?: number };

/** `takeWindow` for any store: the store's own when it has one, else a lease of one unit. */
export async function takeWindow(
  store: SharedState,
  key: string,
  max: number,
  windowMs: number,
  limit: number,
): Promise<TakeResult> {
  if (store.takeWindow) return store.takeWindow(key, max, windowMs, limit);
  const result = await store.tryIncrWindow(key, 1, windowMs, limit);
  return { granted: result.allowed ? 1 : 0, count: result.count };
}

/** `applyDeltas` for any store: the store's own batch when it has one, else one operation per addition. */
export async function applyDeltas(
  store: SharedState,
  deltas: readonly SharedDelta[],
  now: number,
): Promise<void> {
  if (deltas.length === 0) return;
  if (store.applyDeltas) return store.applyDeltas(deltas);
  const operations: Array<Promise<unknown>> = [];
  for (const delta of deltas) {
    if (delta.kind === "window") {
      // without a batch the store counts in its current window: a delta of an earlier window is dropped
      if (Math.floor(delta.at / delta.windowMs) === Math.floor(now / delta.windowMs))
        operations.push(store.incrWindow(delta.key, delta.by, delta.windowMs));
      continue;
    }
    const options = delta.ttlMs === undefined ? {} : { ttlMs: delta.ttlMs };
    for (let index = 0; index < delta.by; index++) operations.push(store.acquire(delta.key, options));
    for (let index = 0; index < -delta.by; index++) operations.push(store.release(delta.key));
  }
  await Promise.all(operations);
}

export interface WindowResult {
  allowed: boolean;
  count: number;
}

export interface FailurePolicy {
  /** Failures are counted over this window (LiteLLM: 60 s). */
  windowMs: number;
  /** Failures in the window that trigger a cooldown; 0 or undefined: count only. */
  allowedFails?: number;
  /** Length of the cooldown set when allowedFails is reached. */
  cooldownMs?: number;
}

export interface FailureResult {
  failures: number;
  cooldownUntil?: number;
}

/** A store reporting its own errors (the fallback wrapper): errors counted, state of the primary. */
export interface SharedStateHealth {
  /** Errors of the primary store since start (each one fell back to local state). */
  readonly errors: number;
  /** true while the primary store is failing (between the first error and the next success). */
  readonly degraded: boolean;
}
