/**
 * Profile mode: runs one target's server under `node --cpu-prof` (one server process per call kind,
 * so plain and streamed calls get a profile each), loads it at concurrency 50 (or --concurrency),
 * stops it cleanly so V8 writes the profile, and summarises it.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CallKind } from "./load/call-spec";
import { closedLoop } from "./load/closed-loop";
import { findTarget } from "./plan";
import { cpuMs } from "./process-stats";
import { type ProfileSummary, renderProfileSummary, summariseFile } from "./profile-summary";
import { startTarget, startUpstream } from "./start-servers";
import type { TargetName } from "./types";

export interface ProfileOptions {
  distDirectory: string;
  resultsDirectory: string;
  target: TargetName;
  seconds: number;
  /** Concurrency of the measured load (the warm-up runs at 50). */
  concurrency: number;
  log: (line: string) => void;
}

export async function runProfile(options: ProfileOptions): Promise<Record<CallKind, ProfileSummary>> {
  const definition = findTarget(options.target);
  if (!definition?.script) throw new Error(`--profile needs a server target, not ${options.target}`);
  const directory = join(options.resultsDirectory, "profiles");
  mkdirSync(directory, { recursive: true });
  const upstream = await startUpstream(options.distDirectory);
  const summaries = {} as Record<CallKind, ProfileSummary>;
  try {
    for (const kind of ["plain", "stream"] as const) {
      const prefix = `${options.target}-${kind}${options.concurrency === 50 ? "" : `-c${options.concurrency}`}`;
      const started = await startTarget(options.distDirectory, definition, upstream, [
        "--cpu-prof",
        `--cpu-prof-dir=${directory}`,
        `--cpu-prof-name=${prefix}-${Date.now()}.cpuprofile`,
      ]);
      if (!started.server) throw new Error(`${options.target}: ${started.skipped ?? started.failed}`);
      options.log(
        `profiling ${options.target} (${kind} calls, concurrency ${options.concurrency}, ${options.seconds} s after a 6000-call warm-up)`,
      );
      // warm up (JIT, pools), then keep only the samples of the measured load: start-up and module
      // loading are in the profile file but not in the summary
      await closedLoop({
        url: started.server.url,
        headers: started.headers,
        kind,
        concurrency: 50,
        maxCalls: 6000,
        maxSeconds: 12,
      });
      await started.server.request("flush");
      const fromMicros = await started.server.request<number>("clock");
      const cpuBefore = cpuMs(started.server.pid);
      const { recorder } = await closedLoop({
        url: started.server.url,
        headers: started.headers,
        kind,
        concurrency: options.concurrency,
        maxCalls: 2_000_000,
        maxSeconds: options.seconds,
      });
      await started.server.request("flush");
      const toMicros = await started.server.request<number>("clock");
      const cpuPerCall = (cpuMs(started.server.pid) - cpuBefore) / Math.max(1, recorder.calls);
      await started.server.stop();
      const file = newest(directory, prefix);
      const summary = summariseFile(join(directory, file), 40, { fromMicros, toMicros });
      summaries[kind] = summary;
      summary.cpuMsPerCall = cpuPerCall;
      const text = `${recorder.calls} ${kind} calls (${recorder.errors} errors), server CPU ${cpuPerCall.toFixed(3)} ms/call under the profiler (1% of samples ≈ ${(cpuPerCall / 100).toFixed(4)} ms/call)\n${renderProfileSummary(summary)}`;
      writeFileSync(join(directory, `${prefix}-summary.txt`), `${text}\n`);
      writeFileSync(join(directory, `${prefix}-summary.json`), `${JSON.stringify(summary, null, 2)}\n`);
      options.log(text);
    }
  } finally {
    await upstream.stop();
  }
  return summaries;
}

function newest(directory: string, prefix: string): string {
  const files = readdirSync(directory).filter(
    (name) => name.startsWith(prefix) && name.endsWith(".cpuprofile"),
  );
  if (files.length === 0) throw new Error(`no ${prefix}*.cpuprofile was written in ${directory}`);
  return files.sort(
    (a, b) => statSync(join(directory, b)).mtimeMs - statSync(join(directory, a)).mtimeMs,
  )[0]!;
}
