import type { Logger } from "@llmux/callbacks";
import type { ControlStore } from "../store/control-store";
import type { EntityKind } from "../store/records";
import { API_KEY, SPEND, type SpendEntry, TEAM_ID, USER_ID } from "./spend-entry";
import { type SpendOrder, subjectName } from "./spend-order";

export interface SpendWriterOptions {
  /** Rows per statement (default 5 000: at most a few MB of JSON text). */
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
  /** Rows dropped from the buffer's front so far (overflow): tells a batch which of its rows left. */
  private droppedFromFront = 0;
  private readonly batchSize: number;

  constructor(
    private readonly store: ControlStore,
    private readonly options: SpendWriterOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 5_000;
    this.timer = setInterval(() => void this.tick(), options.flushIntervalMs ?? 1_000);
    this.timer.unref();
  }

  /** Buffers one row and counts its spend as pending for its key, user and team. */
  add(row: SpendEntry): void {
    const max = this.options.maxBuffered ?? 100_000;
    if (this.buffer.length >= max) {
      const dropped = this.buffer.shift();
      this.droppedFromFront++;
      if (dropped) this.unpend(dropped);
      this.statsValue.dropped++;
    }
    this.buffer.push(row);
    const spend = row[SPEND];
    if (spend > 0) {
      const pending = this.pendingByEntity;
      if (row[API_KEY]) add(pending.key, row[API_KEY], spend);
      if (row[USER_ID]) add(pending.user, row[USER_ID], spend);
      if (row[TEAM_ID]) add(pending.team, row[TEAM_ID], spend);
    }
    if (this.buffer.length >= this.batchSize && !this.writing) void this.tick();
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
    await this.writeBuffered();
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
      await this.writeBuffered();
    } catch {
      // counted and logged in writeBatch; retried after the backoff
    }
  }

  /**
   * The rows buffered now, then only full batches (after close, everything): rows that come in during
   * a write wait for the next tick. Writing until the buffer was empty wrote without pause under load
   * (each statement carried the few dozen rows of the previous write's milliseconds, its fixed cost
   * paid that often), and a flush under steady traffic waited for a moment without new rows.
   */
  private async writeBuffered(): Promise<void> {
    let due = this.buffer.length;
    while (this.buffer.length > 0 && (due > 0 || this.closed || this.buffer.length >= this.batchSize))
      due -= await this.writeBatch(due > 0 ? due : this.batchSize);
  }

  /**
   * Writes the first rows of the buffer (at most `limit` and the batch size) and resolves with how
   * many; one batch at a time: a second caller waits for the running write, then takes the next rows.
   */
  private async writeBatch(limit = this.batchSize): Promise<number> {
    while (this.writing) await this.writing.catch(() => undefined);
    if (this.buffer.length === 0) return 0;
    const batch = this.buffer.slice(0, Math.min(limit, this.batchSize));
    const droppedBefore = this.droppedFromFront;
    // The batch's spend per key, user and team, summed once (what it adds when it commits).
    const sums = spendSums(batch);
    const write = () =>
      this.store.writeSpend({ rows: batch }).then(
        () => {
          // Rows leave the buffer only from its front (this write, or overflow drops of the oldest):
          // the batch's first `gone` rows were dropped meanwhile (no longer pending), the rest are
          // still at the front of the buffer.
          const gone = Math.min(batch.length, this.droppedFromFront - droppedBefore);
          this.buffer.splice(0, batch.length - gone);
          if (gone === 0) {
            // The usual case: the whole batch was still pending; its sums leave at once (one
            // subtraction per key/user/team, not three map updates per row).
            const pending = this.pendingByEntity;
            for (const [kind, id, amount] of sums) subtract(pending[kind], id, amount);
          } else for (let index = gone; index < batch.length; index++) this.unpend(batch[index]!);
          // Every committed row's spend reaches the cache, dropped ones included (once per subject).
          const report = this.options.onCommitted;
          if (report) for (const [kind, id, amount] of sums) report(kind, id, amount);
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
    const run = order
      ? order.write(
          sums.map(([kind, id]) => subjectName(kind, id)),
          write,
        )
      : write();
    this.writing = run
      .finally(() => {
        this.writing = undefined;
      })
      .catch(() => undefined);
    await run;
    return batch.length;
  }

  /** The row left the buffer (written or dropped): its spend is no longer pending. */
  private unpend(row: SpendEntry): void {
    const spend = row[SPEND];
    if (!(spend > 0)) return;
    const pending = this.pendingByEntity;
    if (row[API_KEY]) subtract(pending.key, row[API_KEY], spend);
    if (row[USER_ID]) subtract(pending.user, row[USER_ID], spend);
    if (row[TEAM_ID]) subtract(pending.team, row[TEAM_ID], spend);
  }
}

/** A batch's spend per key, user and team: [kind, id, amount], one entry per subject. */
function spendSums(batch: readonly SpendEntry[]): Array<[EntityKind, string, number]> {
  const sums = new Map<string, [EntityKind, string, number]>();
  const sum = (kind: EntityKind, id: string, amount: number) => {
    const name = subjectName(kind, id);
    const entry = sums.get(name);
    if (entry) entry[2] += amount;
    else sums.set(name, [kind, id, amount]);
  };
  // Consecutive rows usually share their key, user and team: summed locally, looked up once per run.
  let key: string | null = null;
  let user: string | null = null;
  let team: string | null = null;
  let run = 0;
  for (const row of batch) {
    const spend = row[SPEND];
    if (!(spend > 0)) continue;
    if (row[API_KEY] !== key || row[USER_ID] !== user || row[TEAM_ID] !== team) {
      if (run > 0) flush();
      key = row[API_KEY];
      user = row[USER_ID];
      team = row[TEAM_ID];
      run = 0;
    }
    run += spend;
  }
  if (run > 0) flush();
  return [...sums.values()];

  function flush(): void {
    if (key) sum("key", key, run);
    if (user) sum("user", user, run);
    if (team) sum("team", team, run);
  }
}

function subtract(map: Map<string, number>, id: string, amount: number): void {
  const left = (map.get(id) ?? 0) - amount;
  if (left <= 1e-12) map.delete(id);
  else map.set(id, left);
}

function add(map: Map<string, number>, id: string, amount: number): void {
  map.set(id, (map.get(id) ?? 0) + amount);
}
