import type { PluginSharedState } from "@llmux/callbacks";

/**
 * Rate-limit counters in this process, for a control plane created without the gateway's SharedState
 * (the gateway always passes its own, so limits are shared when Redis is configured), and the
 * enforcer's counters whenever the gateway's state is in process too (kind "memory": the same
 * per-instance counts), used through the `…Now` methods: no promise per call.
 */
export class MemoryCounters implements PluginSharedState {
  readonly kind = "memory";
  /** Window length -> key -> the current window's count. */
  private readonly windows = new Map<number, Map<string, { window: number; count: number }>>();
  private readonly flights = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async incrWindow(key: string, by: number, windowMs: number): Promise<number> {
    return this.incrWindowNow(key, by, windowMs);
  }

  async getWindow(key: string, windowMs: number): Promise<number> {
    return this.getWindowNow(key, windowMs);
  }

  async tryIncrWindow(key: string, by: number, windowMs: number, limit: number) {
    return this.tryIncrWindowNow(key, by, windowMs, limit);
  }

  async acquire(key: string, options: { limit?: number } = {}) {
    return this.acquireNow(key, options.limit);
  }

  async release(key: string): Promise<number> {
    return this.releaseNow(key);
  }

  // The same operations without a promise (the enforcer's limits when the state is in process).

  incrWindowNow(key: string, by: number, windowMs: number): number {
    const entry = this.current(key, windowMs);
    entry.count += by;
    return entry.count;
  }

  getWindowNow(key: string, windowMs: number): number {
    return this.current(key, windowMs).count;
  }

  tryIncrWindowNow(
    key: string,
    by: number,
    windowMs: number,
    limit: number,
  ): { allowed: boolean; count: number } {
    const entry = this.current(key, windowMs);
    if (entry.count + by > limit) return { allowed: false, count: entry.count };
    entry.count += by;
    return { allowed: true, count: entry.count };
  }

  acquireNow(key: string, limit: number | undefined): { allowed: boolean; count: number } {
    const count = this.flights.get(key) ?? 0;
    if (limit !== undefined && count + 1 > limit) return { allowed: false, count };
    this.flights.set(key, count + 1);
    return { allowed: true, count: count + 1 };
  }

  releaseNow(key: string): number {
    const count = Math.max(0, (this.flights.get(key) ?? 0) - 1);
    if (count === 0) this.flights.delete(key);
    else this.flights.set(key, count);
    return count;
  }

  private current(key: string, windowMs: number): { window: number; count: number } {
    const window = Math.floor(this.now() / windowMs);
    let counts = this.windows.get(windowMs);
    if (!counts) {
      counts = new Map();
      this.windows.set(windowMs, counts);
    }
    let entry = counts.get(key);
    if (!entry) {
      entry = { window, count: 0 };
      counts.set(key, entry);
    } else if (entry.window !== window) {
      entry.window = window;
      entry.count = 0;
    }
    return entry;
  }
}
