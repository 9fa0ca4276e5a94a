/**
 * `npm run bench` (repo root): the llmux benchmark harness. See USAGE in options.ts and
 * docs/performance.md for the method. Every server under test runs from built JS in its own child
 * process; the load is generated here, on 127.0.0.1 only, bounded in calls and seconds.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateChecks } from "./checks";
import { parseOptions, USAGE } from "./options";
import { findTarget, soakPlan } from "./plan";
import { machine, procAvailable } from "./process-stats";
import { runProfile } from "./profile";
import { renderResults } from "./report-table";
import { runComparison } from "./run-bench";
import { runSoak } from "./soak";
import { startTarget, startUpstream } from "./start-servers";
import type { AlternatingGroupResult, BenchResults, SoakResult, TargetResult } from "./types";

const distDirectory = dirname(fileURLToPath(import.meta.url));
const benchDirectory = resolve(distDirectory, "..");
const resultsDirectory = join(benchDirectory, "results");
const log = (line: string) => process.stderr.write(`${line}\n`);

function gitCommit(): string | null {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: benchDirectory,
      encoding: "utf8",
    }).trim();
  } catch {
    return null;
  }
}

function commandLine(argv: string[]): string {
  const event = process.env.npm_lifecycle_event;
  const base =
    event === "bench" || event === "bench:smoke" ? `npm run ${event}` : "node apps/bench/dist/main.js";
  const extra = argv.join(" ");
  if (!extra) return base;
  return base.startsWith("npm") ? `${base} -- ${extra}` : `${base} ${extra}`;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv);
  } catch (error) {
    log(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (!procAvailable()) {
    log("bench: /proc is not readable here; server CPU and RSS come from /proc (Linux only)");
    return 2;
  }
  if (options.nice && !machine.prioritise(-20))
    log("bench: --nice: cannot raise the priority (not root?); running at the normal priority");
  const began = performance.now();
  const loadAverageStart = loadavg();
  if (loadAverageStart[0]! > 0.5 * cpus().length)
    log(
      `bench: the machine is busy before the run (load average ${loadAverageStart[0]!.toFixed(2)} on ${cpus().length} cores): figures will be noisy`,
    );
  if (options.mode === "profile") {
    await runProfile({
      distDirectory,
      resultsDirectory,
      target: options.profileTarget!,
      seconds: options.seconds,
      concurrency: options.concurrency,
      log,
    });
    log(`profiles and summaries in ${relative(process.cwd(), join(resultsDirectory, "profiles"))}`);
    return 0;
  }

  let targets: TargetResult[] = [];
  let soak: SoakResult | undefined;
  let groups: AlternatingGroupResult[] = [];
  if (options.mode === "soak") {
    const name = options.targets[0]!;
    const definition = findTarget(name)!;
    const upstream = await startUpstream(distDirectory);
    try {
      const started = await startTarget(distDirectory, definition, upstream);
      if (!started.server)
        throw new Error(`${name}: ${started.skipped ?? started.failed ?? "not a server target"}`);
      try {
        soak = await runSoak(started.server, soakPlan("soak", options.calls), log);
      } finally {
        await started.server.stop();
      }
    } finally {
      await upstream.stop();
    }
  } else {
    ({ targets, soak, groups } = await runComparison({
      mode: options.mode,
      distDirectory,
      targets: options.targets,
      rate: options.rate,
      ...(options.workloads ? { workloads: options.workloads } : {}),
      log,
    }));
  }

  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      mode: options.mode,
      command: commandLine(argv),
      node: process.version,
      platform: `${platform()} ${release()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      gitCommit: gitCommit(),
      secondsTotal: (performance.now() - began) / 1000,
      loadAverageStart,
      loadAverageEnd: loadavg(),
      foreignCpuCores: foreignCores(targets),
      priority: machine.priority ?? null,
    },
    targets,
    checks: evaluateChecks(targets, soak, options.mode, groups),
  };
  if (soak) results.soak = soak;
  if (groups.length > 0) results.groups = groups;

  console.log(renderResults(results));
  const foreign = results.meta.foreignCpuCores;
  if (foreign !== null && foreign > 0.2)
    console.log(
      `\nWARNING: other processes used ${foreign.toFixed(2)} of ${results.meta.cpus} cores on average while this run measured (column "others"): the figures are noisy; run again on a quiet machine.`,
    );
  const file =
    options.json ??
    join(resultsDirectory, options.mode === "short" ? "latest.json" : `${options.mode}-latest.json`);
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nresults: ${relative(process.cwd(), resolve(file))} (${results.meta.secondsTotal.toFixed(0)} s)`);

  const broken =
    targets.some((target) => target.status === "failed") ||
    targets.some((target) => target.workloads.some((workload) => workload.errors > 0)) ||
    (soak !== undefined && soak.errors > 0) ||
    groups.some((group) => group.targets.some((target) => target.errors > 0));
  return broken ? 1 : 0;
}

/** Other processes' CPU over the measured cells, weighted by each cell's length. */
function foreignCores(targets: TargetResult[]): number | null {
  let seconds = 0;
  let coreSeconds = 0;
  for (const target of targets)
    for (const workload of target.workloads) {
      seconds += workload.seconds;
      coreSeconds += workload.foreignCpuCores * workload.seconds;
    }
  return seconds > 0 ? coreSeconds / seconds : null;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`bench failed: ${String((error as Error)?.stack ?? error)}`);
    process.exitCode = 1;
  },
);
