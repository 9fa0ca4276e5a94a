/** Renders results as plain-text tables for the terminal (and docs/performance.md). */
import type { AlternatingGroupResult, BenchResults, CheckResult, SoakResult } from "./types";

function cell(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toFixed(digits);
}

function signed(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;
}

/** A Markdown table; `align` per column ("l" or "r"), default: two left columns, the rest right. */
export function renderTable(header: string[], rows: string[][], align?: Array<"l" | "r">): string {
  const alignOf = (column: number) => align?.[column] ?? (column < 2 ? "l" : "r");
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (row: string[]) =>
    `| ${row
      .map((value, column) =>
        alignOf(column) === "l" ? value.padEnd(widths[column]!) : value.padStart(widths[column]!),
      )
      .join(" | ")} |`;
  const rule = widths
    .map((width, column) =>
      alignOf(column) === "l" ? `:${"-".repeat(width + 1)}` : `${"-".repeat(width + 1)}:`,
    )
    .join("|");
  return [line(header), `|${rule}|`, ...rows.map(line)].join("\n");
}

export function renderResults(results: BenchResults): string {
  const parts: string[] = [];
  const header = [
    "target",
    "workload",
    "calls",
    "err",
    "calls/s",
    "p50 ms",
    "p99 ms",
    "+p50 ms",
    "1st chunk p50",
    "+1st chunk",
    "CPU ms/call",
    "main thread",
    "others",
  ];
  const rows: string[][] = [];
  for (const target of results.targets) {
    if (target.status !== "ran") continue;
    for (const workload of target.workloads) {
      rows.push([
        target.name,
        workload.ratePerSecond ? `${workload.workload} (${workload.ratePerSecond}/s)` : workload.workload,
        String(workload.calls),
        String(workload.errors),
        cell(workload.callsPerSecond, 0),
        cell(workload.p50Ms, 3),
        cell(workload.p99Ms, 3),
        target.name === "direct" ? "" : signed(workload.addedP50Ms, 3),
        cell(workload.firstChunkP50Ms, 3),
        target.name === "direct" ? "" : signed(workload.addedFirstChunkP50Ms, 3),
        cell(workload.serverCpuMsPerCall, 3),
        cell(workload.serverMainThreadCpuMsPerCall, 3),
        cell(workload.foreignCpuCores, 2),
      ]);
    }
  }
  if (rows.length > 0) parts.push(renderTable(header, rows));

  const memoryRows = results.targets
    .filter((target) => target.status === "ran" && target.rssBeforeMb !== null)
    .map((target) => [
      target.name,
      "",
      cell(target.rssBeforeMb, 1),
      cell(target.rssAfterMb, 1),
      cell(target.rssPeakMb, 1),
      cell(target.liveHeapMb, 1),
    ]);
  if (memoryRows.length > 0)
    parts.push(
      renderTable(["server", "", "RSS before MB", "RSS after MB", "RSS peak MB", "live heap MB"], memoryRows),
    );

  for (const target of results.targets) {
    if (target.status !== "ran")
      parts.push(`${target.status.toUpperCase()} ${target.name}: ${target.note ?? ""}`);
    else if (target.note) parts.push(`NOTE ${target.name}: ${target.note}`);
  }
  const errors = results.targets.flatMap((target) =>
    target.workloads
      .filter((workload) => workload.errors > 0)
      .map(
        (workload) =>
          `errors in ${target.name} ${workload.workload}: ${workload.errors} (first: ${workload.firstError})`,
      ),
  );
  parts.push(...errors);
  if (results.soak) parts.push(renderSoak(results.soak));
  if (results.groups?.length) parts.push(renderGroups(results.groups));
  parts.push(renderChecks(results.checks));
  return parts.join("\n\n");
}

export function renderSoak(soak: SoakResult): string {
  const lines = [
    `soak ${soak.target}: ${soak.calls} calls (${soak.errors} errors) at concurrency ${soak.concurrency}, one in ${Math.round(1 / soak.streamShare)} streamed, ${soak.seconds.toFixed(1)} s, ${soak.callsPerSecond.toFixed(0)} calls/s, ${soak.serverCpuMsPerCall.toFixed(3)} CPU ms/call`,
    `  RSS baseline ${soak.rssBaselineMb.toFixed(1)} MB → end ${soak.rssEndMb.toFixed(1)} MB (growth ${signed(soak.rssGrowthMb, 1)} MB, max ${soak.rssMaxMb.toFixed(1)} MB)`,
  ];
  if (soak.afterGc)
    lines.push(
      `  after a forced GC: RSS ${soak.afterGc.rssBaselineMb.toFixed(1)} → ${soak.afterGc.rssEndMb.toFixed(1)} MB, heap used ${soak.afterGc.heapBaselineMb.toFixed(1)} → ${soak.afterGc.heapEndMb.toFixed(1)} MB (end: heap total ${soak.afterGc.end.heapTotalMb.toFixed(1)} MB, external ${soak.afterGc.end.externalMb.toFixed(1)} MB, array buffers ${soak.afterGc.end.arrayBuffersMb.toFixed(1)} MB)`,
    );
  lines.push(
    `  RSS samples (calls:MB): ${soak.samples.map((sample) => `${sample.calls}:${sample.rssMb.toFixed(0)}`).join(" ")}`,
  );
  return lines.join("\n");
}

/** The alternating groups: each member's CPU per call over its slices, and the slices themselves. */
export function renderGroups(groups: AlternatingGroupResult[]): string {
  const rows = groups.flatMap((group) =>
    group.targets.map((target, index) => [
      index === 0 ? group.workload : "",
      target.name,
      String(target.calls),
      cell(target.callsPerSecond, 0),
      cell(target.cpuMsPerCall, 3),
      index === 0 ? "" : cell(target.cpuMsPerCall / group.targets[0]!.cpuMsPerCall),
      target.sliceCpuMsPerCall.map((value) => value.toFixed(3)).join(" "),
      index === 0 ? cell(group.foreignCpuCores) : "",
    ]),
  );
  const first = groups[0]!;
  return `Alternating slices (${first.rounds} rounds of ${first.sliceSeconds} s per target; the CPU checks judge these)\n${renderTable(
    ["workload", "target", "calls", "calls/s", "CPU ms/call", "÷ first", "slices: CPU ms/call", "others"],
    rows,
    ["l", "l", "r", "r", "r", "r", "l", "r"],
  )}`;
}

export function renderChecks(checks: CheckResult[]): string {
  const rows = checks.map((check) => [
    check.pass === null ? "N/A " : check.pass ? "PASS" : "FAIL",
    check.description,
    check.value === null
      ? "–"
      : check.value.toFixed(
          check.id.startsWith("added-latency") ||
            check.id.startsWith("added-first-chunk-c1") ||
            check.id.startsWith("telemetry")
            ? 3
            : 2,
        ),
    check.limit,
    check.note ?? "",
  ]);
  return `Targets (ratios within this run)\n${renderTable(["result", "target", "value", "limit", "note"], rows, ["l", "l", "r", "l", "l"])}`;
}
