import { subjectName } from "../spend/spend-order";
import type { ControlStore, RecordOf } from "../store/control-store";
import type { EntityKind } from "../store/records";

interface Entry<K extends EntityKind> {
  value: RecordOf<K> | undefined;
  loadedAt: number;
  refreshing?: Promise<void>;
}

export interface RecordCacheOptions {
  /** How long a record is trusted before a refresh (the staleness bound across instances). */
  ttlMs: number;
  /** Entries kept per kind (oldest evicted first). */
  maxEntries?: number;
  now?: () => number;
  onRefreshError?(error: unknown): void;
}

/**
 * Keys, users and teams as the enforcer sees them, so no model call queries the database: a miss loads
 * once (concurrent misses share the load), an entry older than `ttlMs` is served while one background
 * refresh runs (stale-while-revalidate), and a failed refresh keeps the last value, so cached keys keep
 * working while the database is away. Unknown ids are cached too (as undefined). Writes through the
 * management API call `set`/`invalidate`, so this instance sees them at once; other instances within `ttlMs`.
 */
export class RecordCache {
  private readonly entries: Record<EntityKind, Map<string, Entry<EntityKind>>> = {
    key: new Map(),
    user: new Map(),
    team: new Map(),
  };
  private readonly loading = new Map<string, Promise<RecordOf<EntityKind> | undefined>>();
  private readonly now: () => number;

  constructor(
    private readonly store: ControlStore,
    private readonly options: RecordCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The record, from memory when cached (never waits for the database then). */
  async get<K extends EntityKind>(kind: K, id: string): Promise<RecordOf<K> | undefined> {
    return this.lookup(kind, id);
  }

  /**
   * `get` without a promise on a hit: the cached record itself (a stale one starts its background
   * refresh), or a promise of the load on a miss. What the per-call checks use, so a cached identity
   * costs no promise and no await.
   */
  lookup<K extends EntityKind>(
    kind: K,
    id: string,
  ): RecordOf<K> | undefined | Promise<RecordOf<K> | undefined> {
    const entry = this.entries[kind].get(id) as Entry<K> | undefined;
    if (entry) {
      if (this.now() - entry.loadedAt > this.options.ttlMs && !entry.refreshing)
        this.refresh(kind, id, entry);
      return entry.value;
    }
    const loadKey = subjectName(kind, id);
    let load = this.loading.get(loadKey) as Promise<RecordOf<K> | undefined> | undefined;
    if (!load) {
      load = this.store.get(kind, id).then(
        (value) => {
          this.set(kind, id, value);
          this.loading.delete(loadKey);
          return value;
        },
        (error: unknown) => {
          this.loading.delete(loadKey);
          throw error;
        },
      );
      this.loading.set(loadKey, load as Promise<RecordOf<EntityKind> | undefined>);
    }
    return load;
  }

  /** The cached record without loading (undefined when not cached). */
  peek<K extends EntityKind>(kind: K, id: string): RecordOf<K> | undefined {
    return (this.entries[kind].get(id) as Entry<K> | undefined)?.value;
  }

  set<K extends EntityKind>(kind: K, id: string, value: RecordOf<K> | undefined): void {
    const map = this.entries[kind];
    map.delete(id);
    map.set(id, { value, loadedAt: this.now() } as Entry<EntityKind>);
    const max = this.options.maxEntries ?? 50_000;
    while (map.size > max) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }

  invalidate(kind: EntityKind, id: string): void {
    this.entries[kind].delete(id);
  }

  /**
   * Adds committed spend to a cached record (until the next refresh reads it from the database), in
   * place: the one field that changes once per write interval. A copy per write (`{ ...record, spend }`)
   * gave the record another hidden class than the database's rows about once a second, and every
   * function of the per-call checks that reads it was deoptimised ("wrong map") and compiled again each
   * time: +11-16 % CPU per plain call with everything on (docs/keys-and-budgets.md, session 12). Nothing
   * keyed on the record's identity depends on its spend (the key's access and metadata do not hold it).
   */
  addSpend(kind: EntityKind, id: string, amount: number): void {
    const record = this.entries[kind].get(id)?.value;
    if (record) record.spend += amount;
  }

  /** Marks every entry stale (e.g. after budgets were reset in the database). */
  expireAll(): void {
    for (const map of Object.values(this.entries)) for (const entry of map.values()) entry.loadedAt = 0;
  }

  private refresh<K extends EntityKind>(kind: K, id: string, entry: Entry<K>): void {
    entry.refreshing = this.store.get(kind, id).then(
      (value) => {
        if (this.entries[kind].get(id) === entry) this.set(kind, id, value);
      },
      (error: unknown) => {
        entry.refreshing = undefined;
        // Keep serving the last value; try again after another ttl.
        entry.loadedAt = this.now();
        this.options.onRefreshError?.(error);
      },
    );
  }
}
