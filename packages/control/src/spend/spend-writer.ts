import type { Logger } from "@llmux/callbacks";
import type { ControlStore } from "../store/control-store";
import type { EntityKind, SpendEntry } from "../store/records";
import { type SpendOrder, subjectName } from "./spend-order";

export interface SpendWriterOptions {
  /** Rows per INSERT (default 500). */
  batchSize?: number;
  /** How often the buffer is written (default 1 000 ms). */
  flushIntervalMs?: number;
  /** Rows kept while the database is away; beyond it the oldest are dropped and counted (default 100 000). */
  maxBuffered?: number;
  logger?: Logger;
  /**
   * Orders each batch with the reads of its keys', users' and teams' records (see SpendOrder), so
   * the cache adding `onCommitted` spend and a record read from the database never disagree.
   */
  order?: SpendOrder;
  /** Called for each committed row's spend (the cache adds it to the cached record). */
  onCommitted?(kind: EntityKind, id: string, amount: number): void;
}

export interface SpendWriterStats {
  buffered: number;
  written: number;
  dropped: number;
  errors: number;
  /** true between a failed write and the next successful one. */
  degraded: boolean;
}

/**
 * Spend log rows written in batches off the request path: `add` only pushes to a bounded buffer; a
 * timer writes it (one transaction per batch, idempotent on the call id, so a retry never double
 * counts). While the database is away the rows stay buffered and are retried with backoff, and the
 * spend they carry stays counted in memory (`pending`), so budgets keep holding. Nothing acknowledged
 * is dropped unless the buffer overflows (counted in `dropped`).
 */
export class SpendWriter {
  private buffer: SpendEntry[] = [];
  private readonly pendingByEntity: Record<EntityKind, Map<string, number>> = {
    key: new Map(),
    user: new Map(),
    team: new Map(),
  };
  private readonly statsValue: SpendWriterStats = {
    buffered: 0,
    written: 0,
    dropped: 0,
    errors: 0,
    degraded: false,
  };
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private backoffMs = 0;
  private nextAttemptAt = 0;
  private closed = false;

  constructor(
    private readonly store: ControlStore,
    private readonly options: SpendWriterOptions = {},
  ) {
    this.timer = setInterval(() => void this.tick(), options.flushIntervalMs ?? 1_000);
    this.timer.unref();
  }

  /** Buffers one row and counts its spend as pending for its key, user and team. */
  add(row: SpendEntry): void {
    const max = this.options.maxBuffered ?? 100_000;
    if (this.buffer.length >= max) {
      const dropped = this.buffer.shift();
      if (dropped) this.settle(dropped, false);
      this.statsValue.dropped++;
    }
    this.buffer.push(row);
    if (row.spend > 0) {
      if (row.api_key) add(this.pendingByEntity.key, row.api_key, row.spend);
      if (row.user_id) add(this.pendingByEntity.user, row.user_id, row.spend);
      if (row.team_id) add(this.pendingByEntity.team, row.team_id, row.spend);
    }
    if (this.buffer.length >= (this.options.batchSize ?? 500) && !this.writing) void this.tick();
  }

  /** Spend buffered but not yet committed for one key, user or team. */
  pending(kind: EntityKind, id: string): number {
    return this.pendingByEntity[kind].get(id) ?? 0;
  }

  stats(): SpendWriterStats {
    return { ...this.statsValue, buffered: this.buffer.length };
  }

  /** Writes everything buffered now; rejects when the database refuses (rows stay buffered). */
  async flush(): Promise<void> {
    while (this.buffer.length > 0) {
      await this.writeBatch();
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    await this.flush().catch((error: unknown) => {
      this.options.logger?.error("spend logs not written at shutdown", {
        rows: this.buffer.length,
        error: String((error as Error)?.message ?? error),
      });
    });
  }

  private async tick(): Promise<void> {
    if (this.writing || this.buffer.length === 0 || Date.now() < this.nextAttemptAt) return;
    try {
      while (this.buffer.length > 0 && !this.closed) await this.writeBatch();
    } catch {
      // counted and logged in writeBatch; retried after the backoff
    }
  }

  /** One batch at a time: a second caller waits for the running write, then takes the next rows. */
  private async writeBatch(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
    if (this.buffer.length === 0) return;
    const batch = this.buffer.slice(0, this.options.batchSize ?? 500);
    const write = () =>
      this.store.writeSpend({ rows: batch }).then(
        () => {
          // The rows may have moved (drops at the front): remove exactly these. A row dropped while
          // the batch was written (overflow) is no longer pending; its committed spend still counts.
          const dropped = new Set(batch); // what is left in it once the buffer is filtered
          this.buffer = this.buffer.filter((row) => !dropped.delete(row));
          for (const row of batch) {
            if (dropped.has(row)) this.reportCommitted(row);
            else this.settle(row, true);
          }
          this.statsValue.written += batch.length;
          if (this.statsValue.degraded)
            this.options.logger?.info("spend logs: database back, buffered rows written");
          this.statsValue.degraded = false;
          this.backoffMs = 0;
          this.nextAttemptAt = 0;
        },
        (error: unknown) => {
          this.statsValue.errors++;
          if (!this.statsValue.degraded) {
            this.options.logger?.warn("spend logs: database write failed, rows kept in memory and retried", {
              buffered: this.buffer.length,
              error: String((error as Error)?.message ?? error),
            });
          }
          this.statsValue.degraded = true;
          this.backoffMs = Math.min(30_000, this.backoffMs === 0 ? 500 : this.backoffMs * 2);
          this.nextAttemptAt = Date.now() + this.backoffMs;
          throw error;
        },
      );
    const order = this.options.order;
    const run = order ? order.write(subjectsOf(batch), write) : write();
    this.writing = run
      .finally(() => {
        this.writing = undefined;
      })
      .catch(() => undefined);
    await run;
  }

  /** The row left the buffer: its spend is no longer pending (committed: reported to the cache). */
  private settle(row: SpendEntry, committed: boolean): void {
    if (!(row.spend > 0)) return;
    const entities: Array<[EntityKind, string | null]> = [
      ["key", row.api_key],
      ["user", row.user_id],
      ["team", row.team_id],
    ];
    for (const [kind, id] of entities) {
      if (!id) continue;
      add(this.pendingByEntity[kind], id, -row.spend);
      if ((this.pendingByEntity[kind].get(id) ?? 0) <= 1e-12) this.pendingByEntity[kind].delete(id);
      if (committed) this.options.onCommitted?.(kind, id, row.spend);
    }
  }

  /** A committed row that had already left the buffer (dropped while its batch was written). */
  private reportCommitted(row: SpendEntry): void {
    if (!(row.spend > 0) || !this.options.onCommitted) return;
    if (row.api_key) this.options.onCommitted("key", row.api_key, row.spend);
    if (row.user_id) this.options.onCommitted("user", row.user_id, row.spend);
    if (row.team_id) this.options.onCommitted("team", row.team_id, row.spend);
  }
}

/** The keys, users and teams whose spend a batch adds to. */
function subjectsOf(batch: readonly SpendEntry[]): Set<string> {
  const subjects = new Set<string>();
  for (const row of batch) {
    if (!(row.spend > 0)) continue;
    if (row.api_key) subjects.add(subjectName("key", row.api_key));
    if (row.user_id) subjects.add(subjectName("user", row.user_id));
    if (row.team_id) subjects.add(subjectName("team", row.team_id));
  }
  return subjects;
}

function add(map: Map<string, number>, id: string, amount: number): void {
  map.set(id, (map.get(id) ?? 0) + amount);
}
