/**
 * One measured cell: a workload against one target, measured in `rounds` slices that alternate
 * with the other targets' slices (so every target sees the same machine, even a shared one). The
 * first slice is preceded by warm-up calls (not measured). Around each slice the server flushes its
 * telemetry and its CPU is read from /proc, so work it defers off the request path (span export,
 * sink writes) is charged to the calls that caused it.
 */
import type { ChildServerHandle } from "./child-server";
import { closedLoop } from "./load/closed-loop";
import { LatencyRecorder } from "./load/latency-recorder";
import { openLoop } from "./load/open-loop";
import { cpuMs, MachineMonitor, machine, mainThreadCpuMs } from "./process-stats";
import type { WorkloadDefinition, WorkloadResult } from "./types";

export interface CellTarget {
  url: string;
  headers?: Record<string, string>;
  server?: ChildServerHandle;
}

export class Cell {
  private readonly recorder = new LatencyRecorder();
  private seconds = 0;
  private serverCpuMs = 0;
  /** Of which the main (JavaScript) thread's. */
  private serverMainThreadCpuMs = 0;
  private upstreamCpuMs = 0;
  private foreignCoreSeconds = 0;
  private readonly sliceCpuMsPerCall: number[] = [];
  private warmedUp = false;

  constructor(
    private readonly target: CellTarget,
    private readonly upstream: ChildServerHandle,
    private readonly workload: WorkloadDefinition,
    private readonly rounds: number,
  ) {}

  /** Runs one slice (1/rounds of the workload's calls and seconds). */
  async slice(): Promise<void> {
    const { target, workload } = this;
    if (!this.warmedUp) {
      this.warmedUp = true;
      await closedLoop({
        url: target.url,
        headers: target.headers,
        kind: workload.kind,
        concurrency: workload.concurrency ?? 10,
        maxCalls: workload.warmupCalls,
        maxSeconds: workload.warmupSeconds,
      });
    }
    await target.server?.request("flush");
    const serverBefore = target.server ? cpuMs(target.server.pid) : 0;
    const serverMainBefore = target.server ? mainThreadCpuMs(target.server.pid) : 0;
    const upstreamBefore = cpuMs(this.upstream.pid);
    const machineBefore = machine.snapshot();
    const callsBefore = this.recorder.calls;
    const maxCalls = Math.max(1, Math.round(workload.maxCalls / this.rounds));
    const seconds = workload.maxSeconds / this.rounds;
    const { elapsedSeconds } =
      workload.ratePerSecond !== undefined
        ? await openLoop({
            url: target.url,
            headers: target.headers,
            kind: workload.kind,
            ratePerSecond: workload.ratePerSecond,
            seconds: Math.min(seconds, maxCalls / workload.ratePerSecond),
            connections: 64,
            recorder: this.recorder,
          })
        : await closedLoop({
            url: target.url,
            headers: target.headers,
            kind: workload.kind,
            concurrency: workload.concurrency ?? 10,
            maxCalls,
            maxSeconds: seconds,
            recorder: this.recorder,
          });
    const foreign = MachineMonitor.foreignCores(machineBefore, machine.snapshot());
    await target.server?.request("flush");
    if (target.server) {
      const sliceCpu = cpuMs(target.server.pid) - serverBefore;
      this.serverCpuMs += sliceCpu;
      this.serverMainThreadCpuMs += mainThreadCpuMs(target.server.pid) - serverMainBefore;
      const sliceCalls = this.recorder.calls - callsBefore;
      if (sliceCalls > 0) this.sliceCpuMsPerCall.push(sliceCpu / sliceCalls);
    }
    this.upstreamCpuMs += cpuMs(this.upstream.pid) - upstreamBefore;
    this.seconds += elapsedSeconds;
    this.foreignCoreSeconds += foreign * elapsedSeconds;
  }

  /** CPU ms per call of each slice run so far (the server's, flush included), in order. */
  get sliceCpuMsPerCalls(): readonly number[] {
    return this.sliceCpuMsPerCall;
  }

  result(): WorkloadResult {
    const { workload, target } = this;
    const summary = this.recorder.summary();
    const calls = summary.calls;
    const stream = workload.kind === "stream";
    const result: WorkloadResult = {
      workload: workload.name,
      kind: workload.kind,
      concurrency: workload.concurrency ?? null,
      ratePerSecond: workload.ratePerSecond ?? null,
      calls,
      errors: summary.errors,
      seconds: this.seconds,
      callsPerSecond: (calls - summary.errors) / this.seconds,
      p50Ms: summary.p50Ms,
      p99Ms: summary.p99Ms,
      meanMs: summary.meanMs,
      addedP50Ms: null,
      firstChunkP50Ms: stream ? summary.firstChunkP50Ms : null,
      firstChunkP99Ms: stream ? summary.firstChunkP99Ms : null,
      addedFirstChunkP50Ms: null,
      serverCpuMsPerCall: target.server && calls > 0 ? this.serverCpuMs / calls : null,
      serverCpuMsPerCallMin: this.sliceCpuMsPerCall.length > 0 ? Math.min(...this.sliceCpuMsPerCall) : null,
      serverMainThreadCpuMsPerCall:
        target.server && calls > 0 && Number.isFinite(this.serverMainThreadCpuMs)
          ? this.serverMainThreadCpuMs / calls
          : null,
      upstreamCpuMsPerCall: calls > 0 ? this.upstreamCpuMs / calls : Number.NaN,
      foreignCpuCores: this.seconds > 0 ? this.foreignCoreSeconds / this.seconds : 0,
    };
    if (summary.firstError) result.firstError = summary.firstError;
    return result;
  }
}
