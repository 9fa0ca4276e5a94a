/**
 * Where cached responses live, after Keyv's storage adapters: a store only keeps strings under keys for
 * a time. What is cached, under which key, for how long and how a hit is replayed is ResponseCache's
 * business, so stores stay thin (MemoryCacheStore here, RedisCacheStore in @llmux/redis).
 */
export interface CacheStore {
  /** "memory", "redis". */
  readonly kind: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close?(): Promise<void>;
}

/** An in-process LRU with per-entry expiry, bounded by entry count and by total size in characters. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = "memory";
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private size = 0;

  constructor(
    private readonly options: { maxEntries?: number; maxChars?: number; now?: () => number } = {},
  ) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now) {
      this.remove(key);
      return undefined;
    }
    // most recently used last
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.remove(key);
    const maxChars = this.options.maxChars ?? 64 * 1024 * 1024;
    if (ttlMs <= 0 || value.length > maxChars) return;
    this.entries.set(key, { value, expiresAt: this.now + ttlMs });
    this.size += value.length;
    const maxEntries = this.options.maxEntries ?? 10_000;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= maxEntries && this.size <= maxChars) break;
      this.remove(oldest);
    }
  }

  async delete(key: string): Promise<void> {
    this.remove(key);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.size -= entry.value.length;
    this.entries.delete(key);
  }

  get count(): number {
    return this.entries.size;
  }
}
