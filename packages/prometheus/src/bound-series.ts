/**
 * Label sets bound once, not built per observation. A call's metric updates all carry the same
 * few label values (model group, model, provider, deployment, status, opt-in user/team/key); the
 * sink looks up one `BoundSeries` by those values and reuses its label objects and prom-client
 * children for every later call with the same values.
 *
 * Counter increments are summed in memory and handed to prom-client when the counter is read
 * (its `collect` hook runs on every scrape and every `get()`), so a call adds numbers to fields
 * instead of hashing and validating a label object per increment. Histograms observe through
 * prom-client's children (`histogram.labels(...)`), created once per label set.
 *
 * The number of bound label sets is capped: past the cap every pending increment is handed over
 * and the bindings start afresh, so memory stays bounded whatever the label cardinality.
 */
import type { Counter, Histogram } from "prom-client";

type Labels = Record<string, string>;

/** One label set of one counter: increments summed until the counter is read. */
export class CounterChild {
  pending = 0;
  /** An increment (even of 0) was made since the last hand-over: the series must exist. */
  touched = false;
  constructor(
    private readonly owner: DeferredCounter,
    readonly labels: Labels,
  ) {}

  inc(value = 1): void {
    this.pending += value;
    if (!this.touched) {
      this.touched = true;
      this.owner.dirty.push(this);
    }
  }
}

/** A prom-client counter whose increments are summed per label set and handed over on read. */
export class DeferredCounter {
  /** Children with increments not yet handed over. */
  readonly dirty: CounterChild[] = [];
  constructor(readonly counter: Counter<string>) {}

  child(labels: Labels): CounterChild {
    return new CounterChild(this, labels);
  }

  /** Hands every pending increment to prom-client (the counter's collect hook calls it). */
  flush(): void {
    const dirty = this.dirty;
    if (dirty.length === 0) return;
    for (let index = 0; index < dirty.length; index++) {
      const child = dirty[index]!;
      const value = child.pending;
      child.pending = 0;
      child.touched = false;
      this.counter.inc(child.labels, value);
    }
    dirty.length = 0;
  }
}

/** A histogram observer bound to one label set (prom-client's child). */
export type Observer = (value: number) => void;

export function observerOf(histogram: Histogram<string>, labels: Labels): Observer {
  return histogram.labels(labels).observe;
}

/**
 * The bound series, by key, up to `limit` keys. `onReset` runs before the bindings are dropped
 * (hand the pending increments over there).
 */
export class BoundSeriesCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(
    private readonly limit: number,
    private readonly onReset: () => void,
  ) {}

  get(key: string, create: () => T): T {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= this.limit) {
        this.onReset();
        this.entries.clear();
      }
      entry = create();
      this.entries.set(key, entry);
    }
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }
}
