/**
 * A gauge setter bound to one label set: prom-client's `gauge.set(labels, value)` validates the
 * label object, sorts its names and hashes it on every set; this one sets through it once, keeps
 * the series it filed (the one holding this very label object) and from then on writes that
 * series' value. Whenever the series is no longer the gauge's (reset, remove, or another set of the
 * same labels elsewhere, which files a new series object), the value goes through `gauge.set` again.
 */
import type { Gauge } from "prom-client";
import { seriesKeyOf, type ValueSeries } from "./series-key";

type Labels = Record<string, string>;

/** Sets one series of a gauge. */
export type Setter = (value: number) => void;

/** The prom-client Gauge field the setter reads (private but stable in 15.x). */
interface GaugeInternals {
  hashMap?: Record<string, ValueSeries>;
}

export function setterOf(gauge: Gauge<string>, labels: Labels): Setter {
  const internals = gauge as unknown as GaugeInternals;
  // gauge.set names the series by the label object's own names, sorted (hashObject without names)
  const key = seriesKeyOf(Object.keys(labels).sort(), labels);
  let map: Record<string, ValueSeries> | undefined;
  let series: ValueSeries | undefined;
  return (value: number): void => {
    const bound = series;
    if (
      bound !== undefined &&
      internals.hashMap === map &&
      map?.[key] === bound &&
      typeof value === "number"
    ) {
      bound.value = value;
      return;
    }
    gauge.set(labels, value);
    map = internals.hashMap;
    const candidate = map?.[key];
    series = candidate !== undefined && candidate.labels === labels ? candidate : undefined;
  };
}
