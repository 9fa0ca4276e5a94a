/** Shapes of the bench's plan and of its JSON results (apps/bench/results/*.json). */
import type { CallKind } from "./load/call-spec";

export type TargetName =
  | "direct"
  | "bare-proxy"
  | "express-proxy"
  | "llmux-node-off"
  | "llmux-node-all"
  | "portkey"
  | "llmux-express-off"
  | "llmux-express-all"
  | "llmux-koa-off"
  | "llmux-koa-all"
  | "llmux-nest-off"
  | "llmux-nest-all"
  /** llmux on Express with a virtual key of @llmux/control (servers/llmux-control-server.ts). */
  | "llmux-express-keys"
  | "llmux-express-keys-pg"
  /** The same with everything on (telemetry), to compare with llmux-express-all. */
  | "llmux-express-all-keys"
  | "llmux-express-all-keys-pg"
  /** llmux-express-all with what-if experiments applied (see servers/experiments.ts). */
  | `llmux-express-all+${string}`
  /** llmux on Express with only some parts of "everything on" (ablation; see servers/llmux-options.ts). */
  | `llmux-express-with:${string}`
  /** llmux's createHandler on node:http with only some parts on (e.g. `llmux-node-with:cache`). */
  | `llmux-node-with:${string}`
  /** The virtual key (PostgreSQL) with only some parts on, beside `llmux-express-with:<the same>`. */
  | `llmux-express-keys-pg-with:${string}`;

export interface TargetDefinition {
  name: TargetName;
  description: string;
  /** Built child script under dist/ (none for "direct": the load goes straight to the mock). */
  script?: string;
  env?: Record<string, string>;
  /** The workloads this target can run (default: all); a peer that fails a kind of call says why in `note`. */
  workloads?: WorkloadName[];
  /** Why some workloads are left out (printed with the results). */
  note?: string;
  /** How long the child may take to be ready (default 30 s; a peer installed on first use needs more). */
  startTimeoutMs?: number;
}

export type WorkloadName =
  | "plain-c1"
  | "plain-c50"
  | "stream-c1"
  | "stream-c50"
  | "plain-rate"
  | "stream-rate";

export interface WorkloadDefinition {
  name: WorkloadName;
  kind: CallKind;
  /** Closed loop at this concurrency, or open loop at `ratePerSecond`. */
  concurrency?: number;
  ratePerSecond?: number;
  maxCalls: number;
  maxSeconds: number;
  warmupCalls: number;
  warmupSeconds: number;
}

export interface WorkloadResult {
  workload: WorkloadName;
  kind: CallKind;
  concurrency: number | null;
  ratePerSecond: number | null;
  calls: number;
  errors: number;
  firstError?: string;
  seconds: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** p50 minus the direct-to-mock p50 of the same workload. */
  addedP50Ms: number | null;
  firstChunkP50Ms: number | null;
  firstChunkP99Ms: number | null;
  addedFirstChunkP50Ms: number | null;
  /** CPU of the server process (utime + stime from /proc) per call, telemetry flush included. */
  serverCpuMsPerCall: number | null;
  /** The lowest CPU ms/call of the slices: the least disturbed estimate on a shared machine. */
  serverCpuMsPerCallMin: number | null;
  /**
   * Of serverCpuMsPerCall, the main (JavaScript) thread's: the rest ran on V8's GC helper threads
   * and libuv's pool (file writes). Null when /proc/<pid>/task is not readable.
   */
  serverMainThreadCpuMsPerCall: number | null;
  upstreamCpuMsPerCall: number;
  /** Cores used on average by processes other than the bench's own during the measurement (noise). */
  foreignCpuCores: number;
}

export interface TargetResult {
  name: TargetName;
  description: string;
  status: "ran" | "skipped" | "failed";
  note?: string;
  details?: Record<string, unknown>;
  /** VmRSS once the server is ready, before warm-up. */
  rssBeforeMb: number | null;
  /** VmRSS at the end of the run (after a telemetry flush): one instant of the GC's sawtooth. */
  rssAfterMb: number | null;
  /** VmHWM at the end of the run: the most the process ever held resident (start-up and run). */
  rssPeakMb?: number | null;
  /**
   * V8 heap used after two forced full GCs at the end of the run (read after rssAfterMb and
   * rssPeakMb, so it does not change them): the live heap, from which V8 sizes its next old-space
   * limit (up to about 4x on a lightly loaded heap), hence most of the growth of RSS under load.
   */
  liveHeapMb?: number | null;
  workloads: WorkloadResult[];
  telemetry?: Record<string, unknown>;
}

export interface SoakResult {
  target: TargetName;
  calls: number;
  errors: number;
  firstError?: string;
  seconds: number;
  callsPerSecond: number;
  concurrency: number;
  streamShare: number;
  rssBaselineMb: number;
  rssEndMb: number;
  rssGrowthMb: number;
  rssMaxMb: number;
  /** RSS and heap after a forced full GC, at the baseline and at the end. */
  afterGc: {
    rssBaselineMb: number;
    rssEndMb: number;
    heapBaselineMb: number;
    heapEndMb: number;
    /** process.memoryUsage() at the end, after the GC (MB): where the RSS that is not live heap goes. */
    end: { heapTotalMb: number; externalMb: number; arrayBuffersMb: number };
  } | null;
  samples: Array<{ calls: number; rssMb: number }>;
  serverCpuMsPerCall: number;
}

/**
 * Targets measured together after the comparison, in rounds of alternating slices of one workload
 * (alternating-group.ts): the CPU targets and the telemetry difference are judged on these figures.
 */
export interface AlternatingGroupResult {
  workload: WorkloadName;
  rounds: number;
  sliceSeconds: number;
  /** The group's floor first. */
  targets: Array<{
    name: TargetName;
    calls: number;
    /** Calls that failed: a group with errors is not a measurement. */
    errors: number;
    callsPerSecond: number;
    /** Whole-process CPU per call over all the target's slices. */
    cpuMsPerCall: number;
    /** Each slice's, one per round. */
    sliceCpuMsPerCall: number[];
  }>;
  /** Cores the rest of the machine used meanwhile (the noise). */
  foreignCpuCores: number;
}

export interface CheckResult {
  id: string;
  description: string;
  value: number | null;
  limit: string;
  pass: boolean | null;
  note?: string;
}

export interface BenchResults {
  meta: {
    date: string;
    mode: "short" | "smoke" | "soak" | "profile";
    command: string;
    node: string;
    platform: string;
    cpus: number;
    cpuModel: string;
    gitCommit: string | null;
    secondsTotal: number;
    /** os.loadavg() when the run started and when it ended. */
    loadAverageStart: number[];
    loadAverageEnd: number[];
    /** Cores used on average by other processes over the measured cells (the noise on this run). */
    foreignCpuCores: number | null;
    /** The scheduling priority the bench ran at (--nice: -20), null when left alone. */
    priority: number | null;
  };
  targets: TargetResult[];
  soak?: SoakResult;
  /** Targets measured together in alternating slices (short and smoke runs): what the CPU checks judge. */
  groups?: AlternatingGroupResult[];
  checks: CheckResult[];
}
