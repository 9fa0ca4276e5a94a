/**
 * Label sets bound once, not built per observation. A call's metric updates all carry the same
 * few label values (model group, model, provider, deployment, status, opt-in user/team/key); the
 * sink looks up one `BoundSeries` by those values and reuses its label objects and prom-client
 * children for every later call with the same values.
 *
 * Counter increments are summed in memory and handed to prom-client when the counter is read
 * (its `collect` hook runs on every scrape and every `get()`), so a call adds numbers to fields
 * instead of hashing and validating a label object per increment. Histograms observe straight
 * into the series prom-client's child created for the label set (`observerOf`).
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

/** A histogram observer bound to one label set. */
export type Observer = (value: number) => void;

/** prom-client 15's per-series histogram state (`Histogram.hashMap` values). */
interface HistogramSeries {
  labels: Labels;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** The prom-client Histogram fields the bound observer reads (private but stable in 15.x). */
interface HistogramInternals {
  hashMap?: Record<string, HistogramSeries>;
  upperBounds?: number[];
  enableExemplars?: boolean;
}

function sameLabels(a: Labels, b: Labels): boolean {
  let count = 0;
  for (const key in a) {
    if (a[key] !== b[key]) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

/**
 * A histogram observer bound to one label set. prom-client's child (`histogram.labels(...)`)
 * validates and hashes the label object on every observation; this one observes through it once,
 * finds the series it created, and from then on adds to that series directly (sum, count, bucket:
 * what prom-client's observe does after its hash lookup). Whenever the series is no longer the
 * histogram's (reset, remove, another prom-client version, exemplars on) it goes through the
 * child again, so the exposition is always prom-client's own.
 */
export function observerOf(histogram: Histogram<string>, labels: Labels): Observer {
  const child = histogram.labels(labels);
  const internals = histogram as unknown as HistogramInternals;
  let map: Record<string, HistogramSeries> | undefined;
  let key = "";
  let series: HistogramSeries | undefined;
  const bind = (): void => {
    series = undefined;
    map = internals.hashMap;
    if (internals.enableExemplars !== false || !map || !Array.isArray(internals.upperBounds)) return;
    for (const name in map) {
      const candidate = map[name];
      if (candidate?.labels && sameLabels(candidate.labels, labels)) {
        if (typeof candidate.sum !== "number" || typeof candidate.bucketValues !== "object") return;
        key = name;
        series = candidate;
        return;
      }
    }
  };
  return (value: number): void => {
    const bound = series;
    if (bound !== undefined && internals.hashMap === map && map?.[key] === bound && Number.isFinite(value)) {
      const bounds = internals.upperBounds as number[];
      let bucket = -1;
      for (let index = 0; index < bounds.length; index++) {
        if (value <= bounds[index]!) {
          bucket = bounds[index]!;
          break;
        }
      }
      bound.sum += value;
      bound.count += 1;
      const buckets = bound.bucketValues;
      if (Object.hasOwn(buckets, bucket)) buckets[bucket]! += 1;
      return;
    }
    child.observe(value);
    bind();
  };
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
