/**
 * One measured cell: a workload against one target. Warm-up calls (not measured), a telemetry
 * flush, then the measured load; the server's CPU is read from /proc before the load and after a
 * second flush, so work the server defers off the request path (span export, sink writes) is
 * charged to the calls that caused it.
 */
import type { ChildServerHandle } from "./child-server";
import { closedLoop, type LoadResult } from "./load/closed-loop";
import { openLoop } from "./load/open-loop";
import { cpuMs, MachineMonitor, machine } from "./process-stats";
import type { WorkloadDefinition, WorkloadResult } from "./types";

export interface CellTarget {
  url: string;
  server?: ChildServerHandle;
}

async function load(url: string, workload: WorkloadDefinition, warmup: boolean): Promise<LoadResult> {
  if (workload.ratePerSecond !== undefined && !warmup) {
    return openLoop({
      url,
      kind: workload.kind,
      ratePerSecond: workload.ratePerSecond,
      seconds: workload.maxCalls / workload.ratePerSecond,
      connections: 64,
    });
  }
  return closedLoop({
    url,
    kind: workload.kind,
    concurrency: workload.concurrency ?? 10,
    maxCalls: warmup ? workload.warmupCalls : workload.maxCalls,
    maxSeconds: warmup ? workload.warmupSeconds : workload.maxSeconds,
  });
}

export async function runCell(
  target: CellTarget,
  upstream: ChildServerHandle,
  workload: WorkloadDefinition,
): Promise<WorkloadResult> {
  await load(target.url, workload, true);
  await target.server?.request("flush");
  const serverBefore = target.server ? cpuMs(target.server.pid) : 0;
  const upstreamBefore = cpuMs(upstream.pid);
  const machineBefore = machine.snapshot();
  const { recorder, elapsedSeconds } = await load(target.url, workload, false);
  const foreignCpuCores = MachineMonitor.foreignCores(machineBefore, machine.snapshot());
  await target.server?.request("flush");
  const serverCpu = target.server ? cpuMs(target.server.pid) - serverBefore : Number.NaN;
  const upstreamCpu = cpuMs(upstream.pid) - upstreamBefore;
  const summary = recorder.summary();
  const calls = summary.calls;
  const stream = workload.kind === "stream";
  const result: WorkloadResult = {
    workload: workload.name,
    kind: workload.kind,
    concurrency: workload.concurrency ?? null,
    ratePerSecond: workload.ratePerSecond ?? null,
    calls,
    errors: summary.errors,
    seconds: elapsedSeconds,
    callsPerSecond: (calls - summary.errors) / elapsedSeconds,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    meanMs: summary.meanMs,
    addedP50Ms: null,
    firstChunkP50Ms: stream ? summary.firstChunkP50Ms : null,
    firstChunkP99Ms: stream ? summary.firstChunkP99Ms : null,
    addedFirstChunkP50Ms: null,
    serverCpuMsPerCall: target.server && calls > 0 ? serverCpu / calls : null,
    upstreamCpuMsPerCall: calls > 0 ? upstreamCpu / calls : Number.NaN,
    foreignCpuCores,
  };
  if (summary.firstError) result.firstError = summary.firstError;
  return result;
}
