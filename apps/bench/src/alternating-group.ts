/**
 * A group of targets measured together after the comparison: each loaded alone in turn, in rounds of
 * one slice each, the order changing every round, every slice ended with the server's flush (deferred
 * export lands in its own slice). The method of micro/ab-targets.mjs, inside the bench run.
 *
 * Why: the comparison's cells give each target three short slices among eight servers, so a ratio
 * (or the telemetry difference, of two figures about 20 % apart) carries both cells' swing. One run
 * read llmux-express-all ÷ express-proxy 1.99 from its cells where alternating slices of the same
 * build read 1.53, and the telemetry difference 0.20 ms where they read 0.05-0.09 ms.
 */
import type { ChildServerHandle } from "./child-server";
import { Cell, type CellTarget } from "./run-cell";
import type { AlternatingGroupResult, TargetName, WorkloadDefinition } from "./types";

export interface AlternatingGroupOptions {
  /** Two or more targets; the first is the group's floor (what the others are divided by). */
  targets: Array<{ name: TargetName; target: CellTarget }>;
  upstream: ChildServerHandle;
  workload: WorkloadDefinition;
  rounds: number;
  /** Seconds per slice (each target's share of a round). */
  sliceSeconds: number;
}

export async function measureAlternatingGroup(
  options: AlternatingGroupOptions,
): Promise<AlternatingGroupResult> {
  const { rounds, sliceSeconds } = options;
  // A cell splits maxSeconds and maxCalls evenly over its rounds, and warms its server up before its
  // first slice: here for two slices' worth, since a server that sat idle while the other group ran,
  // or ran the other kind of call, has lost some of its optimised code (after one slice's worth the
  // first measured round still read up to 1.6x the rest: streams after the plain calls' groups).
  const workload: WorkloadDefinition = {
    ...options.workload,
    maxSeconds: sliceSeconds * rounds,
    maxCalls: Number.MAX_SAFE_INTEGER,
    warmupCalls: Number.MAX_SAFE_INTEGER,
    warmupSeconds: 2 * sliceSeconds,
  };
  const cells = options.targets.map(({ target }) => new Cell(target, options.upstream, workload, rounds));
  for (let round = 0; round < rounds; round++)
    for (const index of sliceOrder(cells.length, round)) await cells[index]!.slice();
  const results = cells.map((cell) => cell.result());
  return {
    workload: options.workload.name,
    rounds,
    sliceSeconds,
    targets: results.map((result, index) => ({
      name: options.targets[index]!.name,
      calls: result.calls,
      errors: result.errors,
      callsPerSecond: result.callsPerSecond,
      cpuMsPerCall: result.serverCpuMsPerCall ?? Number.NaN,
      sliceCpuMsPerCall: [...cells[index]!.sliceCpuMsPerCalls],
    })),
    foreignCpuCores: results.reduce((sum, result) => sum + result.foreignCpuCores, 0) / results.length,
  };
}

/**
 * The order of `count` targets in round `round`: rotated by one every two rounds, reversed every other
 * round, so each runs first, last and between the others as often (micro/alternating-slices.mjs).
 */
export function sliceOrder(count: number, round: number): number[] {
  const shift = Math.floor(round / 2) % count;
  const order = Array.from({ length: count }, (_, index) => (index + shift) % count);
  return round % 2 === 1 ? order.reverse() : order;
}

/** The median of each round's `top` ÷ `bottom` (or − with `difference`); null without whole rounds. */
export function medianRound(
  group: AlternatingGroupResult,
  top: TargetName,
  bottom: TargetName,
  combine: (top: number, bottom: number) => number,
): number | null {
  const upper = group.targets.find((target) => target.name === top)?.sliceCpuMsPerCall;
  const lower = group.targets.find((target) => target.name === bottom)?.sliceCpuMsPerCall;
  if (!upper || !lower || upper.length !== lower.length || upper.length === 0) return null;
  const values = upper.map((value, index) => combine(value, lower[index]!)).sort((a, b) => a - b);
  const middle = Math.floor(values.length / 2);
  return values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2;
}
