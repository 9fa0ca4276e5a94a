/**
 * Telemetry's CPU per call, measured as a pair. The check "everything on minus everything off" is a
 * difference of two figures about 20 % apart; taken from two cells of the comparison run (each
 * target's slices minutes apart from the other's, among eight servers) it carries both cells' swing
 * (streamed Express cells have read 0.51-0.73 ms for one build), several times the 0.08 ms judged.
 * Here the two servers alone are loaded in alternating slices of the same workload, seconds apart,
 * their order flipped every round, each slice ended with the server's flush (deferred export lands
 * in its own slice): the method of micro/ab-targets.mjs, inside the bench run.
 */
import type { ChildServerHandle } from "./child-server";
import { Cell, type CellTarget } from "./run-cell";
import type { TelemetryPairResult, WorkloadDefinition } from "./types";

export interface TelemetryPairOptions {
  off: CellTarget;
  all: CellTarget;
  upstream: ChildServerHandle;
  workload: WorkloadDefinition;
  rounds: number;
  /** Seconds per slice (each server's share of a round). */
  sliceSeconds: number;
}

export async function measureTelemetryPair(options: TelemetryPairOptions): Promise<TelemetryPairResult> {
  const { rounds, sliceSeconds } = options;
  // the cells split maxSeconds and maxCalls evenly over their rounds
  const workload: WorkloadDefinition = {
    ...options.workload,
    maxSeconds: sliceSeconds * rounds,
    maxCalls: Number.MAX_SAFE_INTEGER,
  };
  const off = new Cell(options.off, options.upstream, workload, rounds);
  const all = new Cell(options.all, options.upstream, workload, rounds);
  for (let round = 0; round < rounds; round++) {
    // off, all | all, off | off, all ...: neither server always runs first after the other's load
    const order = round % 2 === 0 ? [off, all] : [all, off];
    for (const cell of order) await cell.slice();
  }
  const offResult = off.result();
  const allResult = all.result();
  const offSlices = off.sliceCpuMsPerCalls;
  const allSlices = all.sliceCpuMsPerCalls;
  const perRound =
    offSlices.length === allSlices.length ? allSlices.map((value, index) => value - offSlices[index]!) : [];
  const offCpu = offResult.serverCpuMsPerCall ?? Number.NaN;
  const allCpu = allResult.serverCpuMsPerCall ?? Number.NaN;
  return {
    workload: options.workload.name,
    rounds,
    offCalls: offResult.calls,
    allCalls: allResult.calls,
    errors: offResult.errors + allResult.errors,
    offCpuMsPerCall: offCpu,
    allCpuMsPerCall: allCpu,
    differenceMsPerCall: allCpu - offCpu,
    perRoundDifferenceMs: perRound,
    medianRoundDifferenceMs: median(perRound),
    foreignCpuCores: (offResult.foreignCpuCores + allResult.foreignCpuCores) / 2,
  };
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
