import type { EntityKind } from "../store/records";

/**
 * Orders the database reads of a key's, user's or team's record (which carry its `spend`) with the
 * spend batches that add to it, so the cached spend is exactly `spend as read + spend not yet in the
 * database` (the writer's pending rows).
 *
 * Without it, a read and a batch that overlap leave the cache unable to tell whether the read saw the
 * batch: a read executed before the batch commits but answered after the batch was reported committed
 * overwrites the cached spend with a value without that batch, while the batch's rows are no longer
 * pending (an under-count: budgets checked against too little spend until the next refresh); a read
 * executed after the commit but answered before it was reported counts the batch twice (an over-count).
 * So a read of a subject waits for the batch being written with its spend (if any) to be reported, and
 * a batch waits for the reads of its subjects already in flight (not for reads that arrive later: those
 * wait for it). Neither side starves: each waits for at most what was in flight when it started.
 */
export class SpendOrder {
  /** Subject ("kind\0id") -> the settlement of the batch writing its spend. */
  private readonly writes = new Map<string, Promise<void>>();
  /** Subject -> its reads in flight (settled promises, never rejecting). */
  private readonly reads = new Map<string, Set<Promise<void>>>();

  /** Runs a read of one subject's record once no batch with its spend is in flight. */
  read<T>(kind: EntityKind, id: string, run: () => Promise<T>): Promise<T> {
    const name = subjectName(kind, id);
    const write = this.writes.get(name);
    const result = write ? write.then(run) : run();
    let inFlight = this.reads.get(name);
    if (!inFlight) {
      inFlight = new Set();
      this.reads.set(name, inFlight);
    }
    const done: Promise<void> = result.then(ignore, ignore).then(() => {
      inFlight.delete(done);
      if (inFlight.size === 0 && this.reads.get(name) === inFlight) this.reads.delete(name);
    });
    inFlight.add(done);
    return result;
  }

  /**
   * Runs a batch that adds spend to `subjects` (names from `subjectName`) after their reads in flight;
   * `run` must report the commit (to the cache and the pending counts) before it resolves.
   */
  async write<T>(subjects: Iterable<string>, run: () => Promise<T>): Promise<T> {
    let release = ignore;
    const settled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const names: string[] = [];
    const waits: Promise<void>[] = [];
    for (const name of subjects) {
      names.push(name);
      const inFlight = this.reads.get(name);
      if (inFlight) for (const read of inFlight) waits.push(read);
      this.writes.set(name, settled);
    }
    try {
      if (waits.length > 0) await Promise.all(waits);
      return await run();
    } finally {
      for (const name of names) if (this.writes.get(name) === settled) this.writes.delete(name);
      release();
    }
  }
}

export function subjectName(kind: EntityKind, id: string): string {
  return `${kind}\u0000${id}`;
}

function ignore(): void {}
