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
  private readonly entries = new Map<string, StoredResponse & { chars: number; itemIds: string[] }>();
  /** Output item id (msg_..., fc_..., rs_...) → the item and its response, for `item_reference`. */
  private readonly byItemId = new Map<string, { item: ResponseItem; responseId: string }>();
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

  /** Keeps a response's conversation; `output` (with the items' ids) answers later `item_reference`s. */
  set(id: string, items: ResponseItem[], model: string, output: ResponseItem[] = []): void {
    const chars = JSON.stringify(items).length;
    if (chars > this.maxChars) return;
    this.delete(id);
    const itemIds: string[] = [];
    for (const item of output) {
      if (typeof item.id !== "string") continue;
      itemIds.push(item.id);
      this.byItemId.set(item.id, { item, responseId: id });
    }
    this.entries.set(id, { items, model, storedAt: this.clock(), chars, itemIds });
    this.chars += chars;
    this.evict();
  }

  /** An output item of a stored (unexpired) response, by its id. */
  item(itemId: string): ResponseItem | undefined {
    const found = this.byItemId.get(itemId);
    if (!found) return undefined;
    return this.get(found.responseId) ? found.item : undefined;
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
    for (const itemId of entry.itemIds)
      if (this.byItemId.get(itemId)?.responseId === id) this.byItemId.delete(itemId);
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
