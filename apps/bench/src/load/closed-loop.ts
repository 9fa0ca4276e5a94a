/**
 * Fixed concurrency: `concurrency` workers, each sending its next call as soon as the previous one
 * ended, until `maxCalls` calls were sent or `maxSeconds` passed (both bound every run).
 */
import { Pool } from "undici";
import type { CallKind } from "./call-spec";
import { LatencyRecorder } from "./latency-recorder";
import { sendCall } from "./send-call";

export interface ClosedLoopOptions {
  url: string;
  kind: CallKind | ((index: number) => CallKind);
  concurrency: number;
  maxCalls: number;
  maxSeconds: number;
  /** Called every `progressEvery` calls (soak sampling). */
  onProgress?: (callsDone: number) => void;
  progressEvery?: number;
  /** Headers a target needs on every call besides the standard ones (a peer gateway's routing). */
  headers?: Record<string, string>;
  /** Adds to this recorder (a workload measured in several slices). */
  recorder?: LatencyRecorder;
}

export interface LoadResult {
  recorder: LatencyRecorder;
  elapsedSeconds: number;
}

export async function closedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const pool = new Pool(options.url, {
    connections: options.concurrency,
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
  const recorder = options.recorder ?? new LatencyRecorder();
  const kindOf = typeof options.kind === "function" ? options.kind : () => options.kind as CallKind;
  const deadline = performance.now() + options.maxSeconds * 1000;
  let started = 0;
  let done = 0;
  const progressEvery = options.progressEvery ?? 0;
  const begin = performance.now();
  const worker = async () => {
    while (started < options.maxCalls && performance.now() < deadline) {
      const index = started++;
      recorder.record(await sendCall(pool, kindOf(index), performance.now(), options.headers));
      done++;
      if (progressEvery > 0 && done % progressEvery === 0) options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedSeconds = (performance.now() - begin) / 1000;
  await pool.close();
  return { recorder, elapsedSeconds };
}
