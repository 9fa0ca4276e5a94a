import type { Logger } from "@llmux/callbacks";
import { MemorySharedState } from "./memory-shared-state";
import {
  applyDeltas,
  type FailurePolicy,
  type FailureResult,
  type SharedDelta,
  type SharedState,
  type SharedStateHealth,
  type TakeResult,
  takeWindow,
  type WindowResult,
} from "./shared-state";

export interface FallbackOptions {
  /** Longest wait on the primary per operation; then the operation runs on the local store. Default 50 ms. */
  timeoutMs?: number;
  /** After `tripAfter` failures in a row, the primary is skipped (local only) for this long, then tried again. Default 1 s. */
  retryAfterMs?: number;
  /** Consecutive failures (errors or timeouts) that open the circuit. Default 3. */
  tripAfter?: number;
  logger?: Logger;
  /** Called once per primary error (a metric: llmux_shared_state_errors_total). */
  onError?: (operation: string, error: Error) => void;
  now?: () => number;
}

const TIMEOUT = Symbol.for("llmux.shared-state.timeout");

interface Health {
  errors: number;
  failing: boolean;
  consecutive: number;
  skipUntil: number;
  lastWarningAt: number;
}

/**
 * `withFallback(primary, local)`, after rate-limiter-flexible's insuranceLimiter: every operation goes to
 * the primary (Redis) with a deadline; when it fails or is late, the same operation is answered by the
 * local store and an error is counted; after `tripAfter` failures in a row the primary is left alone for
 * `retryAfterMs` (so an outage costs a few late operations per interval, never one per call). Writes are mirrored into the local store
 * so that it holds this instance's own counts when it has to take over. One warning per outage, one
 * info when the primary answers again; no restart needed.
 */
export class FallbackSharedState implements SharedState, SharedStateHealth {
  readonly kind: string;
  private readonly timeoutMs: number;
  private readonly retryAfterMs: number;
  private readonly tripAfter: number;
  private readonly now: () => number;

  constructor(
    readonly primary: SharedState,
    readonly local: SharedState = new MemorySharedState(),
    private readonly options: FallbackOptions = {},
    /** Shared by the views made with `withTimeout`: one health per primary. */
    private readonly health: Health = {
      errors: 0,
      failing: false,
      consecutive: 0,
      skipUntil: 0,
      lastWarningAt: Number.NEGATIVE_INFINITY,
    },
  ) {
    this.kind = `fallback(${primary.kind})`;
    this.timeoutMs = options.timeoutMs ?? 50;
    this.retryAfterMs = options.retryAfterMs ?? 1_000;
    this.tripAfter = Math.max(1, options.tripAfter ?? 3);
    this.now = options.now ?? Date.now;
  }

  get errors(): number {
    return this.health.errors;
  }
  /** true while the primary is failing: from an error until the next success. */
  get degraded(): boolean {
    return this.health.failing;
  }

  /**
   * The same store with another deadline, sharing health and local state: for background work that no
   * call waits on (the router's writes and sync), which may wait longer than a call could.
   */
  withTimeout(timeoutMs: number): FallbackSharedState {
    return new FallbackSharedState(this.primary, this.local, { ...this.options, timeoutMs }, this.health);
  }

  /** Runs `operation` on the primary within the deadline, else `fallback` (the local answer). */
  private async run<T>(
    name: string,
    operation: (store: SharedState) => Promise<T>,
    fallback: () => Promise<T>,
  ): Promise<T> {
    const health = this.health;
    if (health.consecutive >= this.tripAfter && this.now() < health.skipUntil) return fallback();
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        operation(this.primary),
        new Promise<typeof TIMEOUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMEOUT), this.timeoutMs);
          timer.unref?.();
        }),
      ]);
      if (result === TIMEOUT) throw new Error(`no answer within ${this.timeoutMs} ms`);
      health.consecutive = 0;
      if (health.failing) {
        health.failing = false;
        this.options.logger?.info(`shared state (${this.primary.kind}) answers again; sharing resumed`, {
          errors: health.errors,
        });
      }
      return result as T;
    } catch (raw) {
      const error = raw instanceof Error ? raw : new Error(String(raw));
      health.errors++;
      health.consecutive++;
      if (health.consecutive >= this.tripAfter) health.skipUntil = this.now() + this.retryAfterMs;
      if (!health.failing) {
        health.failing = true;
        // One warning per outage; a flapping store warns at most once a minute.
        if (this.now() - health.lastWarningAt >= 60_000) {
          health.lastWarningAt = this.now();
          this.options.logger?.warn(
            `shared state (${this.primary.kind}) failed on ${name}: ${error.message}; using local state until it answers`,
            { operation: name },
          );
        }
      }
      try {
        this.options.onError?.(name, error);
      } catch {
        // a metric must never fail a call
      }
      return fallback();
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** A write: applied locally (always), then to the primary; the primary's answer wins when it comes. */
  private async write<T>(name: string, operation: (store: SharedState) => Promise<T>): Promise<T> {
    const local = operation(this.local);
    return this.run(name, operation, () => local);
  }

  incrWindow(key: string, by: number, windowMs: number): Promise<number> {
    return this.write("incrWindow", (store) => store.incrWindow(key, by, windowMs));
  }
  getWindow(key: string, windowMs: number): Promise<number> {
    return this.run(
      "getWindow",
      (store) => store.getWindow(key, windowMs),
      () => this.local.getWindow(key, windowMs),
    );
  }
  tryIncrWindow(key: string, by: number, windowMs: number, limit: number): Promise<WindowResult> {
    // The local count only mirrors what the primary allowed (or decides alone while the primary is out).
    return this.run(
      "tryIncrWindow",
      async (store) => {
        const result = await store.tryIncrWindow(key, by, windowMs, limit);
        if (result.allowed) void this.local.incrWindow(key, by, windowMs);
        return result;
      },
      () => this.local.tryIncrWindow(key, by, windowMs, limit),
    );
  }
  takeWindow(key: string, max: number, windowMs: number, limit: number): Promise<TakeResult> {
    // as tryIncrWindow: the local count mirrors what the primary granted, or decides alone
    return this.run(
      "takeWindow",
      async (store) => {
        const result = await takeWindow(store, key, max, windowMs, limit);
        if (result.granted > 0) void this.local.incrWindow(key, result.granted, windowMs);
        return result;
      },
      () => takeWindow(this.local, key, max, windowMs, limit),
    );
  }
  /**
   * Unlike every other operation, rejects when the primary did not take the deltas (error, late answer,
   * or the primary left alone after failures): the caller keeps them and sends them again later. The
   * error is counted as any other. Not mirrored locally: the caller holds its own counts.
   */
  applyDeltas(deltas: readonly SharedDelta[]): Promise<void> {
    return this.run(
      "applyDeltas",
      (store) => applyDeltas(store, deltas, this.now()),
      () => Promise.reject(new Error(`shared state (${this.primary.kind}) did not take the deltas`)),
    );
  }
  incr(key: string, by: number, ttlMs?: number): Promise<number> {
    return this.write("incr", (store) => store.incr(key, by, ttlMs));
  }
  get(key: string): Promise<number> {
    return this.run(
      "get",
      (store) => store.get(key),
      () => this.local.get(key),
    );
  }
  getMany(keys: readonly string[]): Promise<number[]> {
    return this.run(
      "getMany",
      (store) => store.getMany(keys),
      () => this.local.getMany(keys),
    );
  }
  set(key: string, value: number, ttlMs?: number): Promise<void> {
    return this.write("set", (store) => store.set(key, value, ttlMs));
  }
  delete(key: string): Promise<void> {
    return this.write("delete", (store) => store.delete(key));
  }
  acquire(key: string, options?: { limit?: number; ttlMs?: number }): Promise<WindowResult> {
    return this.run(
      "acquire",
      async (store) => {
        const result = await store.acquire(key, options);
        if (result.allowed) void this.local.acquire(key, { ...options, limit: undefined });
        return result;
      },
      () => this.local.acquire(key, options),
    );
  }
  release(key: string): Promise<number> {
    return this.write("release", (store) => store.release(key));
  }
  inFlight(key: string): Promise<number> {
    return this.run(
      "inFlight",
      (store) => store.inFlight(key),
      () => this.local.inFlight(key),
    );
  }
  recordFailure(id: string, policy: FailurePolicy): Promise<FailureResult> {
    return this.write("recordFailure", (store) => store.recordFailure(id, policy));
  }
  setCooldown(id: string, until: number): Promise<void> {
    return this.write("setCooldown", (store) => store.setCooldown(id, until));
  }
  getCooldowns(ids: readonly string[]): Promise<Map<string, number>> {
    return this.run(
      "getCooldowns",
      (store) => store.getCooldowns(ids),
      () => this.local.getCooldowns(ids),
    );
  }
  async close(): Promise<void> {
    await Promise.allSettled([this.primary.close(), this.local.close()]);
  }
}

export function withFallback(
  primary: SharedState,
  local: SharedState = new MemorySharedState(),
  options: FallbackOptions = {},
): FallbackSharedState {
  return new FallbackSharedState(primary, local, options);
}
