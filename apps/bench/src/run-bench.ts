/**
 * The comparison run (short and smoke modes): every target's server in its own process, the
 * workloads interleaved: each workload runs in three slices per target, round robin over the
 * targets, before the next workload, so the ratios compare figures taken close together in time
 * and every target shares whatever else the machine was doing.
 */

import { measureAlternatingGroup } from "./alternating-group";
import type { ChildServerHandle } from "./child-server";
import { closedLoop } from "./load/closed-loop";
import {
  ALTERNATING_GROUPS,
  alternatingGroupPlan,
  type BenchMode,
  findTarget,
  serverWarmup,
  soakPlan,
  workloads,
} from "./plan";
import { rssMb, rssPeakMb } from "./process-stats";
import { Cell } from "./run-cell";
import { runSoak } from "./soak";
import { type StartedTarget, startTarget, startUpstream } from "./start-servers";
import { collectTelemetry } from "./telemetry-check";
import type {
  AlternatingGroupResult,
  SoakResult,
  TargetName,
  TargetResult,
  WorkloadDefinition,
} from "./types";

export interface RunOptions {
  mode: BenchMode;
  distDirectory: string;
  targets: TargetName[];
  rate: number;
  workloads?: string[];
  log: (line: string) => void;
}

export async function runComparison(
  options: RunOptions,
): Promise<{ targets: TargetResult[]; soak?: SoakResult; groups: AlternatingGroupResult[] }> {
  const upstream = await startUpstream(options.distDirectory);
  const started: StartedTarget[] = [];
  try {
    const definitions = options.targets.map((name) => {
      const definition = findTarget(name);
      if (!definition) throw new Error(`unknown target ${name}`);
      return definition;
    });
    // a few children at a time: a dozen Node processes loading at once on a busy 2-core machine
    // would each take longer than its start timeout
    for (let index = 0; index < definitions.length; index += 3) {
      const group = definitions.slice(index, index + 3);
      started.push(
        ...(await Promise.all(
          group.map((definition) => startTarget(options.distDirectory, definition, upstream)),
        )),
      );
    }
    const results = new Map<TargetName, TargetResult>();
    for (const target of started) {
      const result: TargetResult = {
        name: target.definition.name,
        description: target.definition.description,
        status: target.skipped ? "skipped" : target.failed ? "failed" : "ran",
        rssBeforeMb: target.server ? rssMb(target.server.pid) : null,
        rssAfterMb: null,
        workloads: [],
      };
      if (target.server) result.details = target.server.details;
      if (target.definition.note) result.note = target.definition.note;
      if (target.skipped || target.failed) {
        result.note = target.skipped ?? target.failed;
        options.log(`${result.status} ${result.name}: ${result.note}`);
      }
      results.set(target.definition.name, result);
    }
    const running = started.filter((target) => target.url !== undefined);
    // JIT warm-up in round-robin chunks: a Node process left idle for ~30 s loses its optimised
    // code (its first 1000 calls then cost 2.6x), so no server may wait long between its warm-up
    // and its first measured slice, nor between slices.
    const warmup = serverWarmup(options.mode);
    const chunks = 6;
    for (let chunk = 0; chunk < chunks; chunk++) {
      for (const target of running) {
        if (!target.server || results.get(target.definition.name)!.status !== "ran") continue;
        const streams = target.definition.workloads?.some((name) => name.startsWith("stream")) ?? true;
        await closedLoop({
          url: target.url!,
          headers: target.headers,
          kind: (index) => (index % 2 === 0 || !streams ? "plain" : "stream"),
          concurrency: 20,
          maxCalls: Math.ceil(warmup.calls / chunks),
          maxSeconds: warmup.seconds / chunks,
        });
      }
    }
    const rounds = options.mode === "smoke" ? 1 : 3;
    const selected = workloads(options.mode, { rate: options.rate }).filter(
      (workload) => !options.workloads || options.workloads.includes(workload.name),
    );
    for (const workload of selected) {
      const cells = new Map<TargetName, Cell>();
      for (const target of running)
        if (!target.definition.workloads || target.definition.workloads.includes(workload.name))
          cells.set(
            target.definition.name,
            new Cell(
              { url: target.url!, headers: target.headers, server: target.server },
              upstream,
              workload,
              rounds,
            ),
          );
      for (let round = 0; round < rounds; round++) {
        for (const target of running) {
          const result = results.get(target.definition.name)!;
          const cell = cells.get(target.definition.name);
          if (result.status !== "ran" || !cell) continue;
          try {
            await cell.slice();
          } catch (error) {
            result.status = "failed";
            result.note = `${workload.name}: ${String(error)}`;
            options.log(`failed ${target.definition.name}: ${result.note}`);
          }
        }
      }
      for (const target of running) {
        const result = results.get(target.definition.name)!;
        const measured = cells.get(target.definition.name);
        if (result.status !== "ran" || !measured) continue;
        const cell = measured.result();
        result.workloads.push(cell);
        options.log(
          `${target.definition.name.padEnd(18)} ${workload.name.padEnd(11)} ${String(cell.calls).padStart(6)} calls ${cell.callsPerSecond.toFixed(0).padStart(6)}/s p50 ${cell.p50Ms.toFixed(3)} ms, ${cell.serverCpuMsPerCall?.toFixed(3) ?? "–"} CPU ms/call${cell.errors ? `, ${cell.errors} errors` : ""}`,
        );
      }
    }
    for (const target of running) {
      const result = results.get(target.definition.name)!;
      if (!target.server || result.status !== "ran") continue;
      if (target.definition.env?.BENCH_LLMUX_MODE === "all")
        result.telemetry = await collectTelemetry(target.server, upstream).catch((error) => ({
          error: String(error),
        }));
      result.rssAfterMb = rssMb(target.server.pid);
      result.rssPeakMb = rssPeakMb(target.server.pid);
    }
    // after the RSS figures (their extra load on some servers must not change those), before the live heap
    const groups = await measureGroups(options, running, results, upstream, selected);
    // the live heap, read after every RSS figure (a forced GC shrinks the heap and RSS)
    for (const target of running) {
      const result = results.get(target.definition.name)!;
      if (!target.server || result.status !== "ran") continue;
      const collected = await target.server
        .request<{ collected: boolean; memory: NodeJS.MemoryUsage }>("gc")
        .catch(() => undefined);
      result.liveHeapMb = collected?.collected ? collected.memory.heapUsed / (1024 * 1024) : null;
    }
    addDifferences([...results.values()]);
    let soak: SoakResult | undefined;
    if (options.mode === "smoke") {
      // the soak path too, in miniature, so it never rots
      const subject = running.find((target) => target.definition.name === "llmux-express-all")?.server;
      if (subject) soak = await runSoak(subject, soakPlan("smoke", undefined), options.log);
    }
    return { targets: [...results.values()], soak, groups };
  } finally {
    await Promise.all(started.map((target) => target.server?.stop()));
    await upstream.stop();
  }
}

/**
 * The alternating groups (plan.ts ALTERNATING_GROUPS) on each concurrency-50 workload of the run, with
 * the members that ran; a group left with fewer than two is not measured.
 */
async function measureGroups(
  options: RunOptions,
  running: StartedTarget[],
  results: Map<TargetName, TargetResult>,
  upstream: ChildServerHandle,
  selected: WorkloadDefinition[],
): Promise<AlternatingGroupResult[]> {
  const plan = alternatingGroupPlan(options.mode);
  const groups: AlternatingGroupResult[] = [];
  for (const workload of selected.filter((candidate) => candidate.concurrency === 50)) {
    for (const names of ALTERNATING_GROUPS) {
      const members = names.flatMap((name) => {
        const started = running.find((candidate) => candidate.definition.name === name);
        const workloads = started?.definition.workloads;
        if (!started?.server || results.get(name)?.status !== "ran") return [];
        if (workloads && !workloads.includes(workload.name)) return [];
        return [{ name, target: { url: started.url!, headers: started.headers, server: started.server } }];
      });
      if (members.length < 2) continue;
      const group = await measureAlternatingGroup({ targets: members, upstream, workload, ...plan });
      groups.push(group);
      options.log(
        `group ${workload.name.padEnd(11)} ${group.targets.map((target) => `${target.name} ${target.cpuMsPerCall.toFixed(3)}`).join(", ")} CPU ms/call${group.targets.some((target) => target.errors) ? " (with errors)" : ""}`,
      );
    }
  }
  return groups;
}

/** Latency and time to first chunk added over direct-to-mock, workload by workload. */
function addDifferences(targets: TargetResult[]): void {
  const direct = targets.find((target) => target.name === "direct" && target.status === "ran");
  if (!direct) return;
  for (const target of targets) {
    if (target === direct) continue;
    for (const result of target.workloads) {
      const base = direct.workloads.find((candidate) => candidate.workload === result.workload);
      if (!base) continue;
      result.addedP50Ms = result.p50Ms - base.p50Ms;
      if (result.firstChunkP50Ms !== null && base.firstChunkP50Ms !== null)
        result.addedFirstChunkP50Ms = result.firstChunkP50Ms - base.firstChunkP50Ms;
    }
  }
}

export type { ChildServerHandle };
