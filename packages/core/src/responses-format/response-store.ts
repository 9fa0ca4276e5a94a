import type { PluginResponseStore, StoredResponseRecord } from "@llmux/callbacks";
import type { ResponseItem } from "./types";

export type { PluginResponseStore as ResponseStore, StoredResponseRecord as StoredResponse };

export interface ResponseStoreOptions {
  /** How long a response can be retrieved and continued; default one hour. */
  ttlMs?: number;
  /** Most responses kept in memory; the oldest go first. Default 10,000. */
  maxEntries?: number;
  /** Most characters kept in memory over all entries (their JSON size); the oldest go first. Default 64 MiB worth. */
  maxChars?: number;
  clock?: () => number;
}

type Entry = StoredResponseRecord & { chars: number };

/**
 * The in-memory store behind stored responses, used when no plugin (the control plane's database)
 * offers one: bounded by age (`expiresAt`), entry count and total size, the oldest evicted first (a
 * Map keeps insertion order). A process restart (or another instance) forgets them: a continuation
 * then gets a clear 400 and a GET a 404.
 */
export class MemoryResponseStore implements PluginResponseStore {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  /** Output item id (msg_..., fc_..., rs_...) -> the item and its response, for `item_reference`. */
  private readonly byItemId = new Map<string, { item: ResponseItem; responseId: string }>();
  private chars = 0;
  private readonly maxEntries: number;
  private readonly maxChars: number;
  private readonly clock: () => number;

  constructor(options: Omit<ResponseStoreOptions, "ttlMs"> = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxChars = options.maxChars ?? 64 * 1024 * 1024;
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  async set(record: StoredResponseRecord): Promise<void> {
    const chars =
      JSON.stringify(record.items).length +
      JSON.stringify(record.input).length +
      JSON.stringify(record.response).length;
    this.remove(record.id);
    if (chars > this.maxChars) return;
    for (const item of record.outputItems) this.byItemId.set(item.id, { item, responseId: record.id });
    this.entries.set(record.id, { ...record, chars });
    this.chars += chars;
    this.evict();
  }

  async item(itemId: string): Promise<{ item: ResponseItem; owner?: string } | undefined> {
    const found = this.byItemId.get(itemId);
    if (!found) return undefined;
    const entry = this.live(found.responseId);
    if (!entry) return undefined;
    return entry.owner === undefined ? { item: found.item } : { item: found.item, owner: entry.owner };
  }

  async get(id: string): Promise<StoredResponseRecord | undefined> {
    const entry = this.live(id);
    if (!entry) return undefined;
    const { chars: _chars, ...record } = entry;
    return record;
  }

  async delete(id: string): Promise<boolean> {
    const live = this.live(id) !== undefined;
    this.remove(id);
    return live;
  }

  private live(id: string): Entry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (this.clock() >= entry.expiresAt) {
      this.remove(id);
      return undefined;
    }
    return entry;
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.chars -= entry.chars;
    for (const item of entry.outputItems)
      if (this.byItemId.get(item.id)?.responseId === id) this.byItemId.delete(item.id);
  }

  private evict(): void {
    const now = this.clock();
    for (const [id, entry] of this.entries) {
      const expired = now >= entry.expiresAt;
      if (!expired && this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.remove(id);
    }
  }
}
