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
import { findSeriesKey } from "./series-key";

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
  sortedLabelNames?: string[];
  upperBounds?: number[];
  enableExemplars?: boolean;
}

/**
 * The property names of a series' buckets, by index of the upper bounds: `String(bound)`, the key
 * prom-client's `bucketValues[bound]` converts the number to. Computed once per binding because that
 * conversion is what a number key costs on every access (a fractional bound is no array index: V8
 * turns it into a string and looks that up, three times per observation in prom-client's
 * hasOwnProperty, read and write), most of an observation. Undefined, and the series left to
 * prom-client's child, when a bound has no bucket of its own or "-1" is one: prom-client's
 * findBound answers -1 above the last bound, and such a bucket would then count those values.
 */
function bucketKeysOf(buckets: unknown, upperBounds: readonly number[]): string[] | undefined {
  if (typeof buckets !== "object" || buckets === null || Object.hasOwn(buckets, "-1")) return undefined;
  const keys: string[] = [];
  for (const bound of upperBounds) {
    const key = String(bound);
    if (typeof (buckets as Record<string, unknown>)[key] !== "number" || !Object.hasOwn(buckets, key))
      return undefined;
    keys.push(key);
  }
  return keys;
}

/**
 * A histogram observer bound to one label set. prom-client's child (`histogram.labels(...)`)
 * validates and hashes the label object on every observation; this one observes through it once,
 * finds the series it created (by its name in the histogram's map: series-key.ts), and from then on
 * adds to that series directly (sum, count, bucket: what prom-client's observe does after its hash
 * lookup), with the bucket names computed once (bucketKeysOf). Whenever the series is no longer
 * the histogram's (reset, remove, zero, another prom-client version, exemplars on) it goes through
 * the child again, so the exposition is always prom-client's own.
 */
export function observerOf(histogram: Histogram<string>, labels: Labels): Observer {
  const child = histogram.labels(labels);
  const internals = histogram as unknown as HistogramInternals;
  let map: Record<string, HistogramSeries> | undefined;
  let key = "";
  let series: HistogramSeries | undefined;
  let bounds: readonly number[] = [];
  let bucketKeys: readonly string[] = [];
  let buckets: Record<string, number> | undefined;
  const bind = (): void => {
    series = undefined;
    map = internals.hashMap;
    const upperBounds = internals.upperBounds;
    if (internals.enableExemplars !== false || !map || !Array.isArray(upperBounds)) return;
    const name = findSeriesKey(map, internals.sortedLabelNames, labels);
    const candidate = name === undefined ? undefined : map[name];
    if (name === undefined || candidate === undefined) return;
    if (typeof candidate.sum !== "number" || typeof candidate.count !== "number") return;
    const keys = bucketKeysOf(candidate.bucketValues, upperBounds);
    if (keys === undefined) return;
    key = name;
    series = candidate;
    bounds = upperBounds;
    bucketKeys = keys;
    buckets = candidate.bucketValues;
  };
  return (value: number): void => {
    const bound = series;
    const values = bound?.bucketValues;
    if (
      bound !== undefined &&
      internals.hashMap === map &&
      map?.[key] === bound &&
      values === buckets &&
      values !== undefined &&
      internals.upperBounds === bounds &&
      Number.isFinite(value)
    ) {
      bound.sum += value;
      bound.count += 1;
      for (let index = 0; index < bounds.length; index++) {
        if (value <= bounds[index]!) {
          values[bucketKeys[index]!]! += 1;
          return;
        }
      }
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
