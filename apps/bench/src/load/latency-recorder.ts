/** Collects per-call timings (across any number of load slices) and summarises them (exact percentiles). */
import type { CallTiming } from "./send-call";

export interface LatencySummary {
  calls: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Time to first body byte (streams only, else NaN). */
  firstChunkP50Ms: number;
  firstChunkP99Ms: number;
  firstError?: string;
}

export class LatencyRecorder {
  private readonly latencies: number[] = [];
  private readonly firstChunks: number[] = [];
  errors = 0;
  firstError: string | undefined;

  get calls(): number {
    return this.latencies.length + this.errors;
  }

  record(timing: CallTiming): void {
    if (!timing.ok) {
      this.errors++;
      this.firstError ??= timing.error;
      return;
    }
    this.latencies.push(timing.latencyMs);
    if (timing.firstChunkMs >= 0) this.firstChunks.push(timing.firstChunkMs);
  }

  summary(): LatencySummary {
    const latencies = Float64Array.from(this.latencies).sort();
    const chunks = Float64Array.from(this.firstChunks).sort();
    let total = 0;
    for (const value of latencies) total += value;
    const result: LatencySummary = {
      calls: this.calls,
      errors: this.errors,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      meanMs: latencies.length > 0 ? total / latencies.length : Number.NaN,
      firstChunkP50Ms: percentile(chunks, 0.5),
      firstChunkP99Ms: percentile(chunks, 0.99),
    };
    if (this.firstError) result.firstError = this.firstError;
    return result;
  }
}

/** Nearest-rank percentile of sorted values (NaN when empty). */
export function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}
