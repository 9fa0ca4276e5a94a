import type { PluginResponseStore } from "@llmux/callbacks";
import type {
  EntityKind,
  KeyRecord,
  ListOptions,
  SpendBatch,
  SpendLogFilter,
  SpendLogRow,
  SpendReportRow,
  TeamRecord,
  UserRecord,
} from "./records";

export type RecordOf<K extends EntityKind> = K extends "key"
  ? KeyRecord
  : K extends "user"
    ? UserRecord
    : TeamRecord;

/** Writable fields of a record (everything but the timestamps and the id). */
export type EntityPatch<K extends EntityKind> = Partial<Omit<RecordOf<K>, "created_at" | "updated_at">>;

/**
 * The storage of the control plane, implemented once in SQL (`SqlControlStore`) and run on PGlite or
 * PostgreSQL. Every method is a Promise; none is called per model call (the enforcer caches).
 */
export interface ControlStore {
  readonly kind: string;
  insert<K extends EntityKind>(kind: K, values: EntityPatch<K>): Promise<RecordOf<K>>;
  get<K extends EntityKind>(kind: K, id: string): Promise<RecordOf<K> | undefined>;
  /** Updates the given fields; undefined when the id is unknown. */
  update<K extends EntityKind>(kind: K, id: string, patch: EntityPatch<K>): Promise<RecordOf<K> | undefined>;
  /** Deletes and returns the ids that existed. */
  delete(kind: EntityKind, ids: readonly string[]): Promise<string[]>;
  list<K extends EntityKind>(kind: K, options: ListOptions): Promise<{ rows: RecordOf<K>[]; total: number }>;
  keyByAlias(alias: string): Promise<KeyRecord | undefined>;
  /** Replaces a key's hash (regenerate): same row, new token, spend kept. */
  replaceToken(oldToken: string, newToken: string, keyName: string): Promise<KeyRecord | undefined>;
  /**
   * One transaction: resets the budgets whose period ended, inserts the log rows (a row already
   * written is skipped, so a retried batch never double counts) and adds each increment to its record's
   * spend. Spend is added only for rows actually inserted.
   */
  writeSpend(batch: SpendBatch): Promise<void>;
  /** Budgets whose `budget_reset_at` passed: spend to 0 and the next reset time. */
  resetBudgets(): Promise<void>;
  spendLogs(filter: SpendLogFilter): Promise<{ rows: SpendLogRow[]; total: number }>;
  spendReport(options: {
    start_date: Date;
    end_date: Date;
    group_by: "api_key" | "team" | "user" | "customer" | "model";
  }): Promise<SpendReportRow[]>;
  /** Retention: deletes log rows that started before `before`; returns how many. */
  deleteSpendLogsBefore(before: Date): Promise<number>;
  /** The gateway's stored Responses API responses (table llmux_responses). */
  readonly responses: PluginResponseStore & {
    /** Deletes the expired responses; returns how many. */
    deleteExpired(): Promise<number>;
  };
  /** The database's own upkeep (PGlite: a checkpoint, so its WAL stays bounded); every minute. */
  maintain?(): Promise<void>;
  /** A cheap round trip (readiness, recovery probe). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
