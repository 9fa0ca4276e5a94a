import type { SpendOrder } from "../spend/spend-order";
import type { ControlStore, EntityPatch, RecordOf } from "./control-store";
import type { EntityKind, KeyRecord, ListOptions, SpendBatch } from "./records";

const ID_FIELD = { key: "token", user: "user_id", team: "team_id" } as const;

/**
 * The store as the record cache and the management routes use it: every call whose answer may be
 * cached (get, insert, update, replaceToken) runs in `order` with the spend batches of the same key,
 * user or team, so a cached record's spend never misses a batch nor counts it twice. Everything else
 * goes straight through.
 */
export class SpendOrderedStore implements ControlStore {
  readonly kind: string;
  readonly responses: ControlStore["responses"];

  constructor(
    private readonly store: ControlStore,
    private readonly order: SpendOrder,
  ) {
    this.kind = store.kind;
    this.responses = store.responses;
  }

  insert<K extends EntityKind>(kind: K, values: EntityPatch<K>): Promise<RecordOf<K>> {
    const id = (values as Record<string, unknown>)[ID_FIELD[kind]];
    if (typeof id !== "string") return this.store.insert(kind, values);
    return this.order.read(kind, id, () => this.store.insert(kind, values));
  }

  get<K extends EntityKind>(kind: K, id: string): Promise<RecordOf<K> | undefined> {
    return this.order.read(kind, id, () => this.store.get(kind, id));
  }

  update<K extends EntityKind>(kind: K, id: string, patch: EntityPatch<K>): Promise<RecordOf<K> | undefined> {
    return this.order.read(kind, id, () => this.store.update(kind, id, patch));
  }

  delete(kind: EntityKind, ids: readonly string[]): Promise<string[]> {
    return this.store.delete(kind, ids);
  }

  list<K extends EntityKind>(kind: K, options: ListOptions): Promise<{ rows: RecordOf<K>[]; total: number }> {
    return this.store.list(kind, options);
  }

  keyByAlias(alias: string): Promise<KeyRecord | undefined> {
    return this.store.keyByAlias(alias);
  }

  replaceToken(oldToken: string, newToken: string, keyName: string): Promise<KeyRecord | undefined> {
    return this.order.read("key", oldToken, () => this.store.replaceToken(oldToken, newToken, keyName));
  }

  writeSpend(batch: SpendBatch): Promise<void> {
    return this.store.writeSpend(batch);
  }

  resetBudgets(): Promise<void> {
    return this.store.resetBudgets();
  }

  spendLogs(...args: Parameters<ControlStore["spendLogs"]>): ReturnType<ControlStore["spendLogs"]> {
    return this.store.spendLogs(...args);
  }

  spendReport(...args: Parameters<ControlStore["spendReport"]>): ReturnType<ControlStore["spendReport"]> {
    return this.store.spendReport(...args);
  }

  deleteSpendLogsBefore(before: Date): Promise<number> {
    return this.store.deleteSpendLogsBefore(before);
  }

  async maintain(): Promise<void> {
    await this.store.maintain?.();
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
