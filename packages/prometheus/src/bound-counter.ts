/**
 * A counter incrementer bound to one label set, the counter's counterpart of observerOf
 * (bound-series.ts): prom-client's `counter.inc(labels, value)` validates and hashes the label
 * object on every increment; this one increments through it once, finds the series it created
 * (series-key.ts) and from then on adds to that series' value, which is all prom-client's inc
 * does after its hash lookup. The additions are the same, in the same order, so every scrape reads
 * the value prom-client would have (no sums held back until the next read, as DeferredCounter
 * does). Whenever the series is no longer the counter's (reset, remove, another prom-client
 * version, exemplars on) or the value is one prom-client refuses or handles itself (negative, not
 * finite), the increment goes through `counter.inc` again.
 */
import type { Counter } from "prom-client";
import { findSeriesKey, type ValueSeries } from "./series-key";

type Labels = Record<string, string>;

/** Adds a value (≥ 0) to one series of a counter. */
export type Incrementer = (value: number) => void;

/** The prom-client Counter fields the incrementer reads (private but stable in 15.x). */
interface CounterInternals {
  hashMap?: Record<string, ValueSeries>;
  sortedLabelNames?: string[];
  enableExemplars?: boolean;
}

export function incrementerOf(counter: Counter<string>, labels: Labels): Incrementer {
  const internals = counter as unknown as CounterInternals;
  let map: Record<string, ValueSeries> | undefined;
  let key = "";
  let series: ValueSeries | undefined;
  const bind = (): void => {
    series = undefined;
    map = internals.hashMap;
    if (internals.enableExemplars !== false || !map) return;
    const name = findSeriesKey(map, internals.sortedLabelNames, labels);
    const candidate = name === undefined ? undefined : map[name];
    if (name === undefined || candidate === undefined || typeof candidate.value !== "number") return;
    key = name;
    series = candidate;
  };
  return (value: number): void => {
    const bound = series;
    if (
      bound !== undefined &&
      internals.hashMap === map &&
      map?.[key] === bound &&
      value >= 0 &&
      value < Number.POSITIVE_INFINITY
    ) {
      bound.value += value;
      return;
    }
    counter.inc(labels, value);
    bind();
  };
}
