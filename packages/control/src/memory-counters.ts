import type { PluginSharedState } from "@llmux/callbacks";

/**
 * Rate-limit counters in this process, for a control plane created without the gateway's SharedState
 * (the gateway always passes its own, so limits are shared when Redis is configured).
 */
export class MemoryCounters implements PluginSharedState {
  readonly kind = "memory";
  private readonly windows = new Map<string, { window: number; count: number }>();
  private readonly flights = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async incrWindow(key: string, by: number, windowMs: number): Promise<number> {
    const entry = this.current(key, windowMs);
    entry.count += by;
    return entry.count;
  }

  async getWindow(key: string, windowMs: number): Promise<number> {
    return this.current(key, windowMs).count;
  }

  async tryIncrWindow(key: string, by: number, windowMs: number, limit: number) {
    const entry = this.current(key, windowMs);
    if (entry.count + by > limit) return { allowed: false, count: entry.count };
    entry.count += by;
    return { allowed: true, count: entry.count };
  }

  async acquire(key: string, options: { limit?: number } = {}) {
    const count = this.flights.get(key) ?? 0;
    if (options.limit !== undefined && count + 1 > options.limit) return { allowed: false, count };
    this.flights.set(key, count + 1);
    return { allowed: true, count: count + 1 };
  }

  async release(key: string): Promise<number> {
    const count = Math.max(0, (this.flights.get(key) ?? 0) - 1);
    if (count === 0) this.flights.delete(key);
    else this.flights.set(key, count);
    return count;
  }

  private current(key: string, windowMs: number): { window: number; count: number } {
    const window = Math.floor(this.now() / windowMs);
    const name = `${key}\u0000${windowMs}`;
    let entry = this.windows.get(name);
    if (!entry || entry.window !== window) {
      entry = { window, count: 0 };
      this.windows.set(name, entry);
    }
    return entry;
  }
}
