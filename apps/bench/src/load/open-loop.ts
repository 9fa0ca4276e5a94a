/**
 * Fixed rate (open loop): call i is due at start + i / rate, whether or not earlier calls have
 * answered, for `seconds`. Latency is measured from the due time, so a server that falls behind
 * shows it (no coordinated omission). In-flight calls are capped; a call that cannot start
 * because of the cap still waits from its due time.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import type { CallKind } from "./call-spec";
import type { LoadResult } from "./closed-loop";
import { LatencyRecorder } from "./latency-recorder";
import { sendCall } from "./send-call";

export interface OpenLoopOptions {
  url: string;
  kind: CallKind;
  ratePerSecond: number;
  seconds: number;
  connections: number;
  maxInFlight?: number;
  /** Headers a target needs on every call besides the standard ones (a peer gateway's routing). */
  headers?: Record<string, string>;
  /** Adds to this recorder (a workload measured in several slices). */
  recorder?: LatencyRecorder;
}

export async function openLoop(options: OpenLoopOptions): Promise<LoadResult> {
  const total = Math.max(1, Math.round(options.ratePerSecond * options.seconds));
  const maxInFlight = options.maxInFlight ?? 1000;
  const pool = new Pool(options.url, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
  const recorder = options.recorder ?? new LatencyRecorder();
  const interval = 1000 / options.ratePerSecond;
  const begin = performance.now();
  let inFlight = 0;
  const running: Array<Promise<void>> = [];
  let freed: (() => void) | undefined;
  for (let index = 0; index < total; index++) {
    const due = begin + index * interval;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(Math.floor(wait));
    while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (freed = resolve));
    inFlight++;
    running.push(
      sendCall(pool, options.kind, due, options.headers).then((timing) => {
        recorder.record(timing);
        inFlight--;
        freed?.();
        freed = undefined;
      }),
    );
  }
  await Promise.all(running);
  const elapsedSeconds = (performance.now() - begin) / 1000;
  await pool.close();
  return { recorder, elapsedSeconds };
}
