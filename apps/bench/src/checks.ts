/**
 * The targets of issue 9, each a ratio or a difference within one run, evaluated against the
 * figures of that run. A check whose figures are missing (scenario skipped, soak not run) passes
 * nothing and fails nothing: it says why.
 */
import type {
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

export function evaluateChecks(
  targets: TargetResult[],
  soak: SoakResult | undefined,
  mode: string,
): CheckResult[] {
  const checks: CheckResult[] = [];
  const missing = "not measured in this run";
  for (const workload of ["plain-c50", "stream-c50"] as const) {
    const subject = figure(targets, SUBJECT, workload);
    const floor = figure(targets, "bare-proxy", workload);
    checks.push(
      check(
        `throughput-${workload}`,
        `${workload}: llmux (everything on) calls/s ÷ bare proxy calls/s`,
        subject && floor ? subject.callsPerSecond / floor.callsPerSecond : null,
        "≥ 0.70",
        (value) => value >= 0.7,
        missing,
      ),
    );
    checks.push(
      check(
        `cpu-${workload}`,
        `${workload}: llmux (everything on) server CPU ms/call ÷ bare proxy CPU ms/call`,
        subject?.serverCpuMsPerCall && floor?.serverCpuMsPerCall
          ? subject.serverCpuMsPerCall / floor.serverCpuMsPerCall
          : null,
        "≤ 1.50",
        (value) => value <= 1.5,
        missing,
      ),
    );
  }
  checks.push(
    check(
      "added-latency-c1",
      "plain-c1: llmux (everything on) p50 − direct p50 (ms)",
      figure(targets, SUBJECT, "plain-c1")?.addedP50Ms,
      "≤ 1 ms",
      (value) => value <= 1,
      missing,
    ),
  );
  checks.push(
    check(
      "added-first-chunk-c1",
      "stream-c1: llmux (everything on) time to first chunk p50 − direct (ms)",
      figure(targets, SUBJECT, "stream-c1")?.addedFirstChunkP50Ms,
      "≤ 1 ms",
      (value) => value <= 1,
      missing,
    ),
  );
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
