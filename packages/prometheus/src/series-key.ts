/**
 * Where prom-client keeps a label set's series: the property of the metric's `hashMap` it is filed
 * under. Bound writers (observerOf, incrementerOf, setterOf) find their series there once and write
 * to it directly afterwards; computing the name takes one pass over the labels, where scanning the
 * map for the labels takes one pass over every series (quadratic when label sets are many, as with
 * LiteLLM's per-key labels).
 */

type Labels = Record<string, string>;

/** prom-client's series entries all carry the labels they were created with. */
interface LabelledSeries {
  labels?: Labels;
}

/** prom-client 15's per-series state of a counter or a gauge (their `hashMap` values). */
export interface ValueSeries {
  labels: Labels;
  value: number;
}

export function sameLabels(a: Labels, b: Labels): boolean {
  let count = 0;
  for (const key in a) {
    if (a[key] !== b[key]) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

/**
 * prom-client 15's name for a label set (util.js hashObject): `name:value,` for each of `names`
 * (sorted label names) whose value is defined.
 */
export function seriesKeyOf(names: readonly string[], labels: Labels): string {
  let key = "";
  for (let index = 0; index < names.length; index++) {
    const name = names[index]!;
    const value = labels[name];
    if (value === undefined) continue;
    key += `${name}:${value},`;
  }
  return key;
}

/**
 * The property of `map` holding the series of `labels`: the name prom-client gives it when `names`
 * are the metric's sorted label names and the series found there has these labels; else (another
 * prom-client version) the series' name found by looking at every series. Undefined when there is
 * no such series.
 */
export function findSeriesKey(
  map: Record<string, LabelledSeries>,
  names: unknown,
  labels: Labels,
): string | undefined {
  if (Array.isArray(names)) {
    const key = seriesKeyOf(names as string[], labels);
    const series = map[key];
    if (series?.labels && sameLabels(series.labels, labels)) return key;
  }
  for (const name in map) {
    const series = map[name];
    if (series?.labels && sameLabels(series.labels, labels)) return name;
  }
  return undefined;
}

/**
 * The key under which a sink caches the binding of a label set: each value with its length before
 * it, so that no two label sets share one whatever their values hold (joined with a separator,
 * user "a<sep>b" of team "c" and user "a" of team "b<sep>c" would). Keys of a fixed number of
 * values stay distinct when concatenated.
 */
export function bindingKey(...values: string[]): string {
  let key = "";
  for (const value of values) key += `${value.length}:${value}`;
  return key;
}
