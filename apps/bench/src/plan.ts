/** What each mode runs: the targets, the workloads and their bounds (count and time). */
import { CONTROL_POSTGRES_TARGET, CONTROL_TARGETS } from "./control-target";
import type { TargetDefinition, TargetName, WorkloadDefinition } from "./types";

export type BenchMode = "short" | "smoke" | "soak" | "profile";

export const TARGETS: TargetDefinition[] = [
  { name: "direct", description: "load generator → mock (no server in between)" },
  {
    name: "bare-proxy",
    description: "node:http + undici Pool passthrough, piped body (the floor)",
    script: "servers/bare-proxy-server.js",
  },
  {
    name: "express-proxy",
    description: "the same passthrough as an Express 5 route (the floor of an Express host)",
    script: "servers/bare-proxy-server.js",
    env: { BENCH_PROXY_FRAMEWORK: "express" },
  },
  {
    name: "llmux-node-off",
    description: "llmux's createHandler on node:http (no framework), telemetry off",
    script: "servers/llmux-node-server.js",
    env: { BENCH_LLMUX_MODE: "off" },
  },
  {
    name: "llmux-node-all",
    description: "llmux's createHandler on node:http (no framework), everything on",
    script: "servers/llmux-node-server.js",
    env: { BENCH_LLMUX_MODE: "all" },
  },
  {
    name: "portkey",
    description:
      "the Portkey gateway (@portkey-ai/gateway, pinned), a peer, on 127.0.0.1 against the same mock",
    script: "servers/portkey-server.js",
    // installed with npm on first use (servers/portkey-install.ts)
    startTimeoutMs: 300_000,
    workloads: ["plain-c1", "plain-c50", "plain-rate"],
    note: "plain calls only: Portkey 1.15.2 on Node 20 answers every streamed chat completion with 500 (TypeError: immutable, its updateHeaders appends to the upstream fetch Response's headers)",
  },
  {
    name: "llmux-express-off",
    description: "llmux on Express 5, telemetry off",
    script: "servers/llmux-express-server.js",
    env: { BENCH_LLMUX_MODE: "off" },
  },
  {
    name: "llmux-express-all",
    description: "llmux on Express 5, everything on (auth, JSONL sink, pricing, OTel→OTLP, Prometheus)",
    script: "servers/llmux-express-server.js",
    env: { BENCH_LLMUX_MODE: "all" },
  },
  {
    name: "llmux-koa-off",
    description: "llmux on Koa (@llmux/koa), telemetry off",
    script: "servers/llmux-koa-server.js",
    env: { BENCH_LLMUX_MODE: "off" },
  },
  {
    name: "llmux-koa-all",
    description: "llmux on Koa (@llmux/koa), everything on",
    script: "servers/llmux-koa-server.js",
    env: { BENCH_LLMUX_MODE: "all" },
  },
  {
    name: "llmux-nest-off",
    description: "llmux on NestJS/Express (@llmux/nestjs), telemetry off",
    script: "servers/llmux-nest-server.js",
    env: { BENCH_LLMUX_MODE: "off" },
  },
  {
    name: "llmux-nest-all",
    description: "llmux on NestJS/Express (@llmux/nestjs), everything on",
    script: "servers/llmux-nest-server.js",
    env: { BENCH_LLMUX_MODE: "all" },
  },
];

/**
 * Targets of a run when --targets is not given: at most seven, so that no server idles long
 * between its slices (see serverWarmup). Koa, Nest and the `-off` variants run with --targets.
 * Adding a target: a `src/servers/<name>-server.ts` child (built by tsup's glob) and an entry
 * in TARGETS (and TargetName); it may announce extra request headers in details.requestHeaders.
 */
export function defaultTargets(mode: BenchMode): TargetName[] {
  if (mode === "soak" || mode === "profile") return ["llmux-express-all"];
  if (mode === "smoke") return TARGETS.map((target) => target.name);
  return [
    "direct",
    "bare-proxy",
    "express-proxy",
    "llmux-express-off",
    "llmux-express-all",
    "llmux-node-all",
    "portkey",
  ];
}

export interface WorkloadBounds {
  rate: number;
}

export function workloads(mode: BenchMode, options: WorkloadBounds): WorkloadDefinition[] {
  if (mode === "smoke") {
    return [
      {
        name: "plain-c1",
        kind: "plain",
        concurrency: 1,
        maxCalls: 20,
        maxSeconds: 1,
        warmupCalls: 5,
        warmupSeconds: 0.5,
      },
      {
        name: "plain-c50",
        kind: "plain",
        concurrency: 50,
        maxCalls: 100,
        maxSeconds: 1,
        warmupCalls: 50,
        warmupSeconds: 0.5,
      },
      {
        name: "stream-c1",
        kind: "stream",
        concurrency: 1,
        maxCalls: 20,
        maxSeconds: 1,
        warmupCalls: 5,
        warmupSeconds: 0.5,
      },
      {
        name: "stream-c50",
        kind: "stream",
        concurrency: 50,
        maxCalls: 100,
        maxSeconds: 1,
        warmupCalls: 50,
        warmupSeconds: 0.5,
      },
      {
        name: "plain-rate",
        kind: "plain",
        ratePerSecond: 100,
        maxCalls: 20,
        maxSeconds: 0.2,
        warmupCalls: 5,
        warmupSeconds: 0.5,
      },
    ];
  }
  const closed = (
    name: WorkloadDefinition["name"],
    concurrency: number,
    maxSeconds: number,
  ): WorkloadDefinition => ({
    name,
    kind: name.startsWith("stream") ? "stream" : "plain",
    concurrency,
    maxCalls: 50_000,
    maxSeconds,
    warmupCalls: concurrency === 1 ? 200 : 500,
    warmupSeconds: 0.3,
  });
  return [
    closed("plain-c1", 1, 1.2),
    closed("plain-c50", 50, 2),
    closed("stream-c1", 1, 1),
    closed("stream-c50", 50, 2),
    {
      name: "plain-rate",
      kind: "plain",
      ratePerSecond: options.rate,
      maxCalls: Math.round(options.rate * 1.2),
      maxSeconds: 1.2,
      warmupCalls: 200,
      warmupSeconds: 0.3,
    },
  ];
}

/**
 * The alternating groups after the comparison (alternating-group.ts), each measured on every
 * concurrency-50 workload of the run: Express's floor with llmux on Express, telemetry off and on (the
 * CPU target and the telemetry difference), and node:http's floor with llmux's handler on it.
 * Eight rounds of 1.5 s slices after 3 s of unmeasured load per target: on a quiet machine
 * ab-targets (the same method) reads an identical twin within about ±3 % of its sibling over such a run.
 */
export const ALTERNATING_GROUPS: ReadonlyArray<readonly TargetName[]> = [
  ["express-proxy", "llmux-express-off", "llmux-express-all"],
  ["bare-proxy", "llmux-node-all"],
];

export function alternatingGroupPlan(mode: BenchMode): { rounds: number; sliceSeconds: number } {
  return mode === "smoke" ? { rounds: 2, sliceSeconds: 0.2 } : { rounds: 8, sliceSeconds: 1.5 };
}

/**
 * Calls every server gets once, before any workload (half streamed, concurrency 20): V8 compiles
 * the hot paths with its optimising tier only after thousands of calls, and a large code path
 * (llmux) would otherwise be measured half-interpreted against a small one (the bare proxy).
 * Measured: llmux's CPU per call falls from 2.1 ms (first 1000 calls) to 0.6-0.7 ms after ~5000,
 * and a server idle for 30 s (not 12 s) is back at 1.4 ms for its next 1000 calls: V8 drops
 * optimised code of an idle process. Hence round-robin warm-up chunks and short rounds.
 */
export function serverWarmup(mode: BenchMode): { calls: number; seconds: number } {
  return mode === "smoke" ? { calls: 40, seconds: 1 } : { calls: 6000, seconds: 7 };
}

export interface SoakPlan {
  calls: number;
  warmupCalls: number;
  concurrency: number;
  /** One call in `streamEvery` is a stream. */
  streamEvery: number;
  maxSeconds: number;
  sampleEvery: number;
}

export function soakPlan(mode: BenchMode, calls: number | undefined): SoakPlan {
  if (mode === "smoke")
    return {
      calls: calls ?? 400,
      warmupCalls: 100,
      concurrency: 20,
      streamEvery: 4,
      maxSeconds: 20,
      sampleEvery: 100,
    };
  const total = calls ?? 200_000;
  return {
    calls: total,
    warmupCalls: Math.min(10_000, Math.max(1000, Math.round(total / 20))),
    concurrency: 50,
    streamEvery: 4,
    maxSeconds: 900,
    sampleEvery: Math.max(1000, Math.round(total / 40)),
  };
}

/** `llmux-express-all` with experiments (comma-separated names) applied: a what-if target. */
export function experimentTarget(experiments: string): TargetDefinition {
  return {
    name: `llmux-express-all+${experiments}`,
    description: `llmux on Express 5, everything on, with the experiment(s) ${experiments}`,
    script: "servers/llmux-express-server.js",
    env: { BENCH_LLMUX_MODE: "all", BENCH_EXPERIMENTS: experiments },
  };
}

/** llmux on Express with only the given components of "everything on" (comma-separated). */
export function componentsTarget(components: string): TargetDefinition {
  return {
    name: `llmux-express-with:${components}`,
    description: `llmux on Express 5 with only ${components} on`,
    script: "servers/llmux-express-server.js",
    env: { BENCH_LLMUX_MODE: components },
  };
}

/**
 * llmux's createHandler on node:http with only the given components (comma-separated), judged
 * against bare-proxy; e.g. `llmux-node-with:cache`, response-cache hits served without a framework.
 */
export function nodeComponentsTarget(components: string): TargetDefinition {
  return {
    name: `llmux-node-with:${components}`,
    description: `llmux's createHandler on node:http with only ${components} on`,
    script: "servers/llmux-node-server.js",
    env: { BENCH_LLMUX_MODE: components },
  };
}

/**
 * The virtual key (PostgreSQL) with only the given components on (comma-separated), to set beside
 * `llmux-express-with:<the same components>`: what the key costs with each telemetry part.
 */
export function controlComponentsTarget(components: string): TargetDefinition {
  return {
    ...CONTROL_POSTGRES_TARGET,
    name: `llmux-express-keys-pg-with:${components}`,
    description: `llmux on Express 5, a virtual key (@llmux/control, PostgreSQL) with only ${components} on`,
    env: { ...CONTROL_POSTGRES_TARGET.env, BENCH_LLMUX_MODE: components },
  };
}

/** The ablation targets: each part of "everything on" alone. */
export const ABLATION_TARGETS: TargetName[] = [
  "llmux-express-with:auth",
  "llmux-express-with:jsonl",
  "llmux-express-with:prometheus",
  "llmux-express-with:otel",
  "llmux-express-with:otel-content",
];

export function findTarget(name: TargetName): TargetDefinition | undefined {
  const control = CONTROL_TARGETS.find((target) => target.name === name);
  if (control) return control;
  if (name.startsWith("llmux-express-keys-pg-with:"))
    return controlComponentsTarget(name.slice("llmux-express-keys-pg-with:".length));
  if (name.startsWith("llmux-express-with:"))
    return componentsTarget(name.slice("llmux-express-with:".length));
  if (name.startsWith("llmux-node-with:")) return nodeComponentsTarget(name.slice("llmux-node-with:".length));
  if (name.startsWith("llmux-express-all+")) return experimentTarget(name.slice("llmux-express-all+".length));
  return TARGETS.find((target) => target.name === name);
}
