/**
 * The IPC protocol between the bench (parent) and each server under test (a child process): the
 * child announces its URL once listening; the parent asks it to flush telemetry, report memory,
 * collect garbage, report telemetry counts, or stop.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";

export type ParentMessage =
  | { type: "flush"; id: number }
  | { type: "memory"; id: number }
  | { type: "heap"; id: number }
  | { type: "gc"; id: number }
  | { type: "telemetry"; id: number }
  | { type: "clock"; id: number }
  | { type: "gcTime"; id: number }
  | { type: "stop"; id: number };

export type ChildMessage =
  | { type: "ready"; url: string; details: Record<string, unknown> }
  | { type: "reply"; id: number; value: unknown }
  | { type: "failed"; message: string; skip: boolean };

/** What a child server module implements: start listening, and the optional hooks behind the messages. */
export interface ChildServer {
  url: string;
  details?: Record<string, unknown>;
  /** Delivers queued telemetry (spans, events, metrics) so its CPU lands in the measured window. */
  flush?(): Promise<void>;
  /** Counts of telemetry produced/delivered (spans, events) for the sanity check. */
  telemetry?(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Runs a child server: starts it, answers the parent's messages, and exits cleanly on "stop" (so
 * `--cpu-prof` can write its profile).
 */
export function serveChild(start: () => Promise<ChildServer>): void {
  const send = (message: ChildMessage) => process.send?.(message);
  // The main thread's time in garbage collection pauses since the first "gcTime" request, in ms (V8's
  // "gc" performance entries, read by the A/B harness around each slice; not observed in other runs).
  let gcMs: number | undefined;
  const gcTime = () => {
    if (gcMs === undefined) {
      gcMs = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) gcMs = (gcMs ?? 0) + entry.duration;
      }).observe({ entryTypes: ["gc"] });
    }
    return gcMs;
  };
  const heapSampling = sampleAllocations(process.env.BENCH_HEAP_SAMPLE_DIR);
  start().then(
    (server) => {
      process.on("message", (raw) => {
        const message = raw as ParentMessage;
        const answer = (value: unknown) => send({ type: "reply", id: message.id, value });
        const run = async (): Promise<unknown> => {
          switch (message.type) {
            case "flush":
              await server.flush?.();
              return true;
            case "memory":
              return process.memoryUsage();
            case "heap":
              // where the heap's memory sits, space by space (new, old, code, large object, ...)
              return getHeapSpaceStatistics();
            case "gc": {
              const gc = (globalThis as { gc?: () => void }).gc;
              if (gc) {
                gc();
                gc();
              }
              return { collected: gc !== undefined, memory: process.memoryUsage() };
            }
            case "gcTime":
              return gcTime();
            case "clock":
              // CLOCK_MONOTONIC in µs: the clock of V8's CPU profile timestamps
              return Number(process.hrtime.bigint() / 1000n);
            case "telemetry":
              return (await server.telemetry?.()) ?? {};
            case "stop":
              await server.close().catch(() => undefined);
              await heapSampling?.();
              return true;
          }
        };
        run().then(
          (value) => {
            answer(value);
            if (message.type === "stop") {
              process.disconnect?.();
              // let the reply leave, then exit (writes the --cpu-prof profile)
              setImmediate(() => process.exit(0));
            }
          },
          (error: unknown) => answer({ error: String(error) }),
        );
      });
      process.on("disconnect", () => {
        // parent gone without a stop: do not linger
        setTimeout(() => process.exit(0), 100).unref();
      });
      send({ type: "ready", url: server.url, details: server.details ?? {} });
    },
    (error: unknown) => {
      const skip = (error as { kind?: unknown } | undefined)?.kind === "skip";
      const message = skip ? (error as Error).message : String((error as Error)?.stack ?? error);
      send({ type: "failed", message, skip });
      setImmediate(() => process.exit(1));
    },
  );
}

/**
 * With BENCH_HEAP_SAMPLE_DIR: V8's sampling heap profiler from start to "stop", counting the objects
 * the garbage collector freed too (what a call allocates, not what stays), written to
 * `<dir>/<pid>.heapprofile` (Chrome DevTools' format). Answers the function that writes it. With
 * BENCH_HEAP_SAMPLE_PROMOTED=1 as well, objects a young-generation collection freed are left out: what
 * remains survived one (promoted, then freed by a full collection, or still live). That is how the
 * object literals with getters that kept every call alive were found (docs/performance.md).
 */
function sampleAllocations(directory: string | undefined): (() => Promise<void>) | undefined {
  if (!directory) return undefined;
  const session = new Session();
  session.connect();
  const started = session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.BENCH_HEAP_SAMPLE_PROMOTED !== "1",
  });
  return async () => {
    await started;
    const { profile } = await session.post("HeapProfiler.stopSampling");
    writeFileSync(join(directory, `${process.pid}.heapprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** Reads a required environment variable of a child. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`bench child: ${name} is not set`);
  return value;
}

/** Thrown by a child whose scenario cannot run here (its adapter or framework is missing). */
export class SkipScenario extends Error {
  readonly kind = "skip";
}
