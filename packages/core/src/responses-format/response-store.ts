import type { ResponseItem } from "./types";

/** A stored response: the conversation up to and including its output, for `previous_response_id`. */
export interface StoredResponse {
  /** The input items of the call (the previous conversation already expanded) followed by its output items. */
  items: ResponseItem[];
  /** The model group that answered. */
  model: string;
  storedAt: number;
}

export interface ResponseStoreOptions {
  /** How long a response can be continued; default one hour. */
  ttlMs?: number;
  /** Most responses kept; the oldest go first. Default 10,000. */
  maxEntries?: number;
  /** Most characters kept over all entries (their JSON size); the oldest go first. Default 64 MiB worth. */
  maxChars?: number;
  clock?: () => number;
}

/**
 * The in-memory store behind `previous_response_id`: bounded by age, entry count and total size, the
 * oldest evicted first (a Map keeps insertion order). Responses created with `store: false` are never
 * put here. A process restart (or another instance) forgets them: the caller then gets a clear 400.
 */
export class ResponseStore {
  private readonly entries = new Map<string, StoredResponse & { chars: number }>();
  private chars = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxChars: number;
  private readonly clock: () => number;

  constructor(options: ResponseStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxChars = options.maxChars ?? 64 * 1024 * 1024;
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  set(id: string, items: ResponseItem[], model: string): void {
    const chars = JSON.stringify(items).length;
    if (chars > this.maxChars) return;
    this.delete(id);
    this.entries.set(id, { items, model, storedAt: this.clock(), chars });
    this.chars += chars;
    this.evict();
  }

  get(id: string): StoredResponse | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (this.clock() - entry.storedAt > this.ttlMs) {
      this.delete(id);
      return undefined;
    }
    return entry;
  }

  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    this.chars -= entry.chars;
    return true;
  }

  private evict(): void {
    const now = this.clock();
    for (const [id, entry] of this.entries) {
      const expired = now - entry.storedAt > this.ttlMs;
      if (!expired && this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.delete(id);
    }
  }
}
