import type { SpendDimension } from "../types";

export interface Totals {
  spend: number;
  tokens: number;
  calls: number;
  errors: number;
}

/** What one call adds to the aggregates. */
export interface CallFacts {
  time: number;
  model: string;
  key?: string;
  user?: string;
  team?: string;
  spend: number;
  tokens: number;
  failed: boolean;
}

type Bucket = Record<SpendDimension, Map<string, Totals>>;

const MINUTE = 60_000;
export const OTHER = "(other)";
export const NONE = "(none)";

/**
 * Spend, tokens, calls and errors per minute by model group, key alias, user and team, for the last
 * `retentionMinutes`. Bounded: old minutes are dropped as new ones start, and each minute holds at
 * most `maxNames` names per dimension (the rest are summed under "(other)").
 */
export class MinuteAggregates {
  private readonly buckets = new Map<number, Bucket>();

  constructor(
    private readonly retentionMinutes: number,
    private readonly maxNames: number,
  ) {}

  add(facts: CallFacts): void {
    const minute = Math.floor(facts.time / MINUTE) * MINUTE;
    let bucket = this.buckets.get(minute);
    if (!bucket) {
      bucket = { model: new Map(), key: new Map(), user: new Map(), team: new Map() };
      this.buckets.set(minute, bucket);
      this.prune(minute);
    }
    this.addTo(bucket.model, facts.model, facts);
    this.addTo(bucket.key, facts.key ?? NONE, facts);
    this.addTo(bucket.user, facts.user ?? NONE, facts);
    this.addTo(bucket.team, facts.team ?? NONE, facts);
  }

  /**
   * Totals per name of `by` in buckets of `bucketMs` from `start` to `end` (epoch ms). Times are the
   * bucket starts; every series has one value per time.
   */
  series(
    by: SpendDimension,
    start: number,
    end: number,
    bucketMs: number,
  ): { times: number[]; series: Map<string, Totals[]> } {
    const first = Math.floor(start / bucketMs) * bucketMs;
    const times: number[] = [];
    for (let time = first; time <= end; time += bucketMs) times.push(time);
    const series = new Map<string, Totals[]>();
    for (const [minute, bucket] of this.buckets) {
      if (minute < first || minute > end) continue;
      const index = Math.floor((minute - first) / bucketMs);
      for (const [name, totals] of bucket[by]) {
        let values = series.get(name);
        if (!values) {
          values = times.map(() => ({ spend: 0, tokens: 0, calls: 0, errors: 0 }));
          series.set(name, values);
        }
        const slot = values[index]!;
        slot.spend += totals.spend;
        slot.tokens += totals.tokens;
        slot.calls += totals.calls;
        slot.errors += totals.errors;
      }
    }
    return { times, series };
  }

  /** Totals per name of `by` over [start, end]. */
  totals(by: SpendDimension, start: number, end: number): Map<string, Totals> {
    const result = new Map<string, Totals>();
    for (const [minute, bucket] of this.buckets) {
      if (minute < Math.floor(start / MINUTE) * MINUTE || minute > end) continue;
      for (const [name, totals] of bucket[by]) {
        const sum = result.get(name) ?? { spend: 0, tokens: 0, calls: 0, errors: 0 };
        sum.spend += totals.spend;
        sum.tokens += totals.tokens;
        sum.calls += totals.calls;
        sum.errors += totals.errors;
        result.set(name, sum);
      }
    }
    return result;
  }

  private addTo(map: Map<string, Totals>, name: string, facts: CallFacts): void {
    let totals = map.get(name);
    if (!totals) {
      const key = map.size >= this.maxNames ? OTHER : name;
      totals = map.get(key);
      if (!totals) {
        totals = { spend: 0, tokens: 0, calls: 0, errors: 0 };
        map.set(key, totals);
      }
    }
    totals.spend += facts.spend;
    totals.tokens += facts.tokens;
    totals.calls += 1;
    if (facts.failed) totals.errors += 1;
  }

  private prune(newest: number): void {
    const oldest = newest - (this.retentionMinutes - 1) * MINUTE;
    for (const minute of this.buckets.keys()) if (minute < oldest) this.buckets.delete(minute);
  }
}
