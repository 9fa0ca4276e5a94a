/**
 * The targets of issue 16, each a ratio or a difference within one run, evaluated against the
 * figures of that run. A check whose figures are missing (scenario skipped, soak not run) passes
 * nothing and fails nothing: it says why.
 */
import { medianRound } from "./alternating-group";
import type {
  AlternatingGroupResult,
  CheckResult,
  SoakResult,
  TargetName,
  TargetResult,
  WorkloadName,
  WorkloadResult,
} from "./types";

const SUBJECT: TargetName = "llmux-express-all";

function figure(
  targets: TargetResult[],
  name: TargetName,
  workload: WorkloadName,
): WorkloadResult | undefined {
  const target = targets.find((candidate) => candidate.name === name && candidate.status === "ran");
  return target?.workloads.find((result) => result.workload === workload && result.calls > 0);
}

function check(
  id: string,
  description: string,
  value: number | null | undefined,
  limit: string,
  passes: (value: number) => boolean,
  missing: string,
): CheckResult {
  if (value === null || value === undefined || !Number.isFinite(value))
    return { id, description, value: null, limit, pass: null, note: missing };
  return { id, description, value, limit, pass: passes(value) };
}

/** A ratio of two figures of the same run (null when either is missing). */
function ratio(top: number | null | undefined, bottom: number | null | undefined): number | null {
  return top !== null && top !== undefined && bottom ? top / bottom : null;
}

/**
 * The same CPU figure from each target's least-loaded slice (serverCpuMsPerCallMin): on a shared
 * machine other processes inflate CPU per call (cache, frequency, SMT), never deflate it, so this
 * reading is the steadier one. Shown in the note, never used for PASS/FAIL.
 */
function withLowestSlices(
  result: CheckResult,
  value: number | null,
  format: (value: number) => string,
): CheckResult {
  if (value === null || !Number.isFinite(value) || result.note) return result;
  return { ...result, note: `lowest slices: ${format(value)}` };
}

function rssAfter(targets: TargetResult[], name: TargetName): number | null {
  return targets.find((target) => target.name === name && target.status === "ran")?.rssAfterMb ?? null;
}

/** How a check combines a subject's figure with its baseline's: a ratio, or a difference in ms. */
interface Comparison {
  combine: (top: number, bottom: number) => number;
  format: (value: number) => string;
}
const RATIO: Comparison = { combine: (top, bottom) => top / bottom, format: (value) => value.toFixed(2) };
const DIFFERENCE: Comparison = {
  combine: (top, bottom) => top - bottom,
  format: (value) => `${value.toFixed(3)} ms`,
};

/** The group (alternating slices) holding both targets on this workload, if it ran without errors. */
function groupOf(
  groups: AlternatingGroupResult[] | undefined,
  workload: WorkloadName,
  names: TargetName[],
): AlternatingGroupResult | undefined {
  return groups?.find(
    (group) =>
      group.workload === workload &&
      names.every((name) => group.targets.some((target) => target.name === name && target.calls > 0)) &&
      group.targets.every((target) => target.errors === 0),
  );
}

/**
 * A check of `subject` against `baseline` on a CPU or throughput figure: judged on the alternating
 * group that holds both (alternating-group.ts) when the run measured one (CPU: the median of its
 * rounds; throughput: the whole group), with the other figures in the note; else on the cells, and
 * the note says so.
 */
function comparedCheck(
  spec: {
    id: string;
    description: string;
    limit: string;
    passes: (value: number) => boolean;
    subject: TargetName;
    baseline: TargetName;
    workload: WorkloadName;
    figure: "cpu" | "throughput";
    comparison: Comparison;
  },
  targets: TargetResult[],
  groups: AlternatingGroupResult[] | undefined,
): CheckResult {
  const { comparison, workload } = spec;
  const combine = (top: number | null | undefined, bottom: number | null | undefined) =>
    top !== null && top !== undefined && bottom !== null && bottom !== undefined && bottom !== 0
      ? comparison.combine(top, bottom)
      : null;
  const cellOf = (name: TargetName) => figure(targets, name, workload);
  const cellValue = (name: TargetName) =>
    spec.figure === "cpu" ? cellOf(name)?.serverCpuMsPerCall : cellOf(name)?.callsPerSecond;
  const cells = combine(cellValue(spec.subject), cellValue(spec.baseline));
  const lowest =
    spec.figure === "cpu"
      ? combine(cellOf(spec.subject)?.serverCpuMsPerCallMin, cellOf(spec.baseline)?.serverCpuMsPerCallMin)
      : null;
  const shown = (value: number | null) => (value === null ? "–" : comparison.format(value));
  const cellFigures = `${shown(cells)}${lowest === null ? "" : ` (lowest slices ${shown(lowest)})`}`;
  const cellsNote = `the cells: ${cellFigures}`;
  const group = groupOf(groups, workload, [spec.subject, spec.baseline]);
  if (group) {
    const member = (name: TargetName) => group.targets.find((target) => target.name === name)!;
    if (spec.figure === "throughput") {
      const value = combine(member(spec.subject).callsPerSecond, member(spec.baseline).callsPerSecond);
      const result = check(spec.id, spec.description, value, spec.limit, spec.passes, "not measured");
      result.note = `alternating slices, ${group.rounds} rounds; ${cellsNote}`;
      return result;
    }
    // CPU: the median of the rounds (each round's two figures are seconds apart), so one disturbed or
    // cold slice moves it by little; the whole run's figure is in the note
    const whole = combine(member(spec.subject).cpuMsPerCall, member(spec.baseline).cpuMsPerCall);
    const median = medianRound(group, spec.subject, spec.baseline, comparison.combine);
    const result = check(spec.id, spec.description, median ?? whole, spec.limit, spec.passes, "not measured");
    result.note = `alternating slices, median of ${group.rounds} rounds (whole run ${shown(whole)}); ${cellsNote}`;
    return result;
  }
  const result = check(spec.id, spec.description, cells, spec.limit, spec.passes, "not measured in this run");
  if (!result.note) result.note = `the cells (no alternating slices in this run): ${cellFigures}`;
  return result;
}

/** The targets of issue 16 (a host's framework is judged against the same framework's passthrough). */
export function evaluateChecks(
  targets: TargetResult[],
  soak: SoakResult | undefined,
  mode: string,
  groups?: AlternatingGroupResult[],
): CheckResult[] {
  const checks: CheckResult[] = [];
  const missing = "not measured in this run";
  const floors = [
    { subject: SUBJECT, floor: "express-proxy", minThroughput: 0.75, maxCpu: 1.4 },
    { subject: "llmux-node-all", floor: "bare-proxy", minThroughput: 0.6, maxCpu: 1.8 },
  ] as const;
  for (const workload of ["plain-c50", "stream-c50"] as const) {
    for (const pair of floors) {
      checks.push(
        comparedCheck(
          {
            id: `throughput-${pair.subject}-${workload}`,
            description: `${workload}: ${pair.subject} calls/s ÷ ${pair.floor} calls/s`,
            limit: `≥ ${pair.minThroughput.toFixed(2)}`,
            passes: (value) => value >= pair.minThroughput,
            subject: pair.subject,
            baseline: pair.floor,
            workload,
            figure: "throughput",
            comparison: RATIO,
          },
          targets,
          groups,
        ),
      );
      checks.push(
        comparedCheck(
          {
            id: `cpu-${pair.subject}-${workload}`,
            description: `${workload}: ${pair.subject} CPU ms/call ÷ ${pair.floor} CPU ms/call`,
            limit: `≤ ${pair.maxCpu.toFixed(2)}`,
            passes: (value) => value <= pair.maxCpu,
            subject: pair.subject,
            baseline: pair.floor,
            workload,
            figure: "cpu",
            comparison: RATIO,
          },
          targets,
          groups,
        ),
      );
    }
    checks.push(
      comparedCheck(
        {
          id: `telemetry-cpu-${workload}`,
          description: `${workload}: telemetry CPU ms/call (llmux-express-all − llmux-express-off)`,
          limit: "≤ 0.08 ms",
          passes: (value) => value <= 0.08,
          subject: SUBJECT,
          baseline: "llmux-express-off",
          workload,
          figure: "cpu",
          comparison: DIFFERENCE,
        },
        targets,
        groups,
      ),
    );
  }
  checks.push(
    check(
      "added-latency-c1",
      `plain-c1: ${SUBJECT} p50 − direct p50 (ms)`,
      figure(targets, SUBJECT, "plain-c1")?.addedP50Ms,
      "≤ 0.4 ms",
      (value) => value <= 0.4,
      missing,
    ),
  );
  checks.push(
    check(
      "added-first-chunk-c1",
      `stream-c1: ${SUBJECT} time to first chunk p50 − direct (ms)`,
      figure(targets, SUBJECT, "stream-c1")?.addedFirstChunkP50Ms,
      "≤ 0.4 ms",
      (value) => value <= 0.4,
      missing,
    ),
  );
  checks.push(
    check(
      "added-first-chunk-c50",
      `stream-c50: ${SUBJECT} added time to first chunk ÷ express-proxy's`,
      ratio(
        figure(targets, SUBJECT, "stream-c50")?.addedFirstChunkP50Ms,
        figure(targets, "express-proxy", "stream-c50")?.addedFirstChunkP50Ms,
      ),
      "≤ 1.50",
      (value) => value <= 1.5,
      missing,
    ),
  );
  checks.push(
    check(
      "rss-after-run",
      `RSS after the run: ${SUBJECT} ÷ express-proxy`,
      ratio(rssAfter(targets, SUBJECT), rssAfter(targets, "express-proxy")),
      "≤ 1.30",
      (value) => value <= 1.3,
      missing,
    ),
  );
  // the peer: llmux standalone (node:http, everything on) against Portkey standalone
  for (const workload of ["plain-c50", "stream-c50"] as const) {
    const subject = figure(targets, "llmux-node-all", workload);
    const peer = figure(targets, "portkey", workload);
    checks.push(
      check(
        `peer-throughput-${workload}`,
        `${workload}: llmux-node-all calls/s ÷ portkey calls/s`,
        ratio(subject?.callsPerSecond, peer?.callsPerSecond),
        "≥ 3.00",
        (value) => value >= 3,
        missing,
      ),
    );
    checks.push(
      withLowestSlices(
        check(
          `peer-cpu-${workload}`,
          `${workload}: llmux-node-all CPU ms/call ÷ portkey CPU ms/call`,
          ratio(subject?.serverCpuMsPerCall, peer?.serverCpuMsPerCall),
          "≤ 0.33",
          (value) => value <= 1 / 3,
          missing,
        ),
        ratio(subject?.serverCpuMsPerCallMin, peer?.serverCpuMsPerCallMin),
        (value) => value.toFixed(2),
      ),
    );
  }
  checks.push(
    check(
      "soak-rss-growth",
      soak
        ? `RSS growth over the ${soak.calls}-call soak of ${soak.target} (MB)`
        : "RSS growth over the 200k-call soak (MB)",
      soak?.rssGrowthMb,
      "≤ 30 MB",
      (value) => value <= 30,
      mode === "soak" ? missing : "soak not run here: npm run bench -- --soak",
    ),
  );
  return checks;
}
