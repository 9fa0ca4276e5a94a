/** Collects per-call timings in preallocated arrays and summarises them (exact percentiles). */
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
  private readonly latencies: Float64Array;
  private readonly firstChunks: Float64Array;
  private count = 0;
  private chunkCount = 0;
  errors = 0;
  firstError: string | undefined;

  constructor(capacity: number) {
    this.latencies = new Float64Array(capacity);
    this.firstChunks = new Float64Array(capacity);
  }

  get calls(): number {
    return this.count + this.errors;
  }

  record(timing: CallTiming): void {
    if (!timing.ok) {
      this.errors++;
      this.firstError ??= timing.error;
      return;
    }
    if (this.count < this.latencies.length) this.latencies[this.count++] = timing.latencyMs;
    if (timing.firstChunkMs >= 0 && this.chunkCount < this.firstChunks.length)
      this.firstChunks[this.chunkCount++] = timing.firstChunkMs;
  }

  summary(): LatencySummary {
    const latencies = this.latencies.slice(0, this.count).sort();
    const chunks = this.firstChunks.slice(0, this.chunkCount).sort();
    let total = 0;
    for (const value of latencies) total += value;
    const result: LatencySummary = {
      calls: this.count + this.errors,
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
