/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the samples went by package, the
 * functions with the most self time, and the llmux functions with the most inclusive time (their
 * own work plus everything they call). CLI: `node dist/profile-summary-cli.js <file>`.
 */
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { basename, dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionShare {
  function: string;
  location: string;
  category: string;
  /** Percent of the busy samples (idle excluded). */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  seconds: number;
  busySamples: number;
  idlePercent: number;
  categories: Array<{ category: string; percent: number }>;
  topSelf: FunctionShare[];
  llmuxInclusive: FunctionShare[];
  /**
   * Every busy sample charged to the nearest llmux function on its stack (itself, or the llmux code
   * that called into Node, V8 or a dependency): what each llmux function costs, all in.
   */
  nearestLlmux: FunctionShare[];
  /** nearestLlmux summed by the package of the charged frame ("outside llmux" for the rest). */
  nearestByPackage: Array<{ category: string; percent: number }>;
  /** Server CPU per call over the profiled window (/proc), when the bench measured it. */
  cpuMsPerCall?: number;
}

/** Which package (or runtime part) a frame belongs to. */
export function categoryOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)") return "(program: V8/native, not JS)";
    if (functionName === "(idle)") return "(idle)";
    if (functionName === "(root)") return "(root)";
    return "native";
  }
  const llmux = /\/(packages|apps)\/([^/]+)\/(dist|src)\//.exec(url);
  if (llmux && !url.includes("node_modules"))
    return llmux[1] === "apps" ? `app:${llmux[2]}` : `@llmux/${llmux[2]}`;
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url.slice(url.lastIndexOf("node_modules/")));
  if (module) return module[1]!;
  if (url.startsWith("node:internal/")) return `node:${url.slice("node:internal/".length).split("/")[0]}`;
  if (url.startsWith("node:")) return url;
  return "other";
}

const sourceMaps = new Map<string, SourceMap | null>();

/** The TypeScript source of a frame in a built @llmux package (its dist has source maps). */
function originalLocation(frame: CallFrame): string | undefined {
  if (!frame.url.startsWith("file://") || frame.url.includes("node_modules")) return undefined;
  const file = fileURLToPath(frame.url);
  let map = sourceMaps.get(file);
  if (map === undefined) {
    map = null;
    try {
      if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")));
    } catch {
      map = null;
    }
    sourceMaps.set(file, map);
  }
  if (!map) return undefined;
  const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
    originalSource?: string;
    originalLine?: number;
  };
  if (!entry?.originalSource) return undefined;
  const source = entry.originalSource.startsWith("file://")
    ? fileURLToPath(entry.originalSource)
    : resolve(dirname(file), entry.originalSource);
  const root = /^(.*)\/(packages|apps)\//.exec(source)?.[1];
  return `${root ? relative(root, source) : source}:${(entry.originalLine ?? 0) + 1}`;
}

function location(frame: CallFrame): string {
  if (!frame.url) return "";
  const original = originalLocation(frame);
  if (original) return original;
  const url = frame.url.replace(/^file:\/\//, "");
  const short = url.includes("node_modules/")
    ? url.slice(url.lastIndexOf("node_modules/") + "node_modules/".length)
    : (/\/(packages|apps)\/.*$/.exec(url)?.[0]?.slice(1) ?? basename(url));
  return `${short}:${frame.lineNumber + 1}`;
}

function keyOf(frame: CallFrame): string {
  return `${frame.functionName || "(anonymous)"}\u0000${frame.url}\u0000${frame.lineNumber}`;
}

/** Only the samples taken between these monotonic µs timestamps (the measured load, not start-up). */
export interface SampleWindow {
  fromMicros: number;
  toMicros: number;
}

export function summariseProfile(
  profile: CpuProfile,
  file: string,
  top = 30,
  window?: SampleWindow,
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) byId.set(node.id, node);
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const categories = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  const nearest = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  let time = profile.startTime;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const [index, sampleId] of profile.samples.entries()) {
    time += profile.timeDeltas[index] ?? 0;
    if (window && (time < window.fromMicros || time > window.toMicros)) continue;
    first = Math.min(first, time);
    last = Math.max(last, time);
    const node = byId.get(sampleId);
    if (!node) continue;
    if (node.callFrame.functionName === "(idle)") {
      idle++;
      continue;
    }
    busy++;
    const key = keyOf(node.callFrame);
    frames.set(key, node.callFrame);
    self.set(key, (self.get(key) ?? 0) + 1);
    const category = categoryOf(node.callFrame);
    categories.set(category, (categories.get(category) ?? 0) + 1);
    const seen = new Set<string>();
    let charged = false;
    for (let current: number | undefined = sampleId; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)!.callFrame;
      const frameKey = keyOf(frame);
      if (!charged && categoryOf(frame).startsWith("@llmux/")) {
        charged = true;
        nearest.set(frameKey, (nearest.get(frameKey) ?? 0) + 1);
      }
      if (seen.has(frameKey)) continue;
      seen.add(frameKey);
      frames.set(frameKey, frame);
      inclusive.set(frameKey, (inclusive.get(frameKey) ?? 0) + 1);
    }
    if (!charged) {
      const outside = `(outside llmux)\u0000${category}\u0000-1`;
      frames.set(outside, {
        functionName: `(no llmux frame: ${category})`,
        url: "",
        lineNumber: -1,
        columnNumber: 0,
      });
      nearest.set(outside, (nearest.get(outside) ?? 0) + 1);
    }
  }
  const percent = (count: number) => (busy > 0 ? (count * 100) / busy : 0);
  const share = (key: string, count: number): FunctionShare => {
    const frame = frames.get(key)!;
    return {
      function: frame.functionName || "(anonymous)",
      location: location(frame),
      category: categoryOf(frame),
      percent: percent(count),
    };
  };
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  return {
    file,
    seconds: last > first ? (last - first) / 1e6 : 0,
    busySamples: busy,
    idlePercent: busy + idle > 0 ? (idle * 100) / (busy + idle) : 0,
    categories: sorted(categories).map(([category, count]) => ({ category, percent: percent(count) })),
    topSelf: sorted(self)
      .slice(0, top)
      .map(([key, count]) => share(key, count)),
    llmuxInclusive: sorted(inclusive)
      .filter(([key]) => categoryOf(frames.get(key)!).startsWith("@llmux/"))
      .slice(0, top)
      .map(([key, count]) => share(key, count)),
    nearestLlmux: sorted(nearest)
      .slice(0, top)
      .map(([key, count]) => share(key, count)),
    nearestByPackage: byPackage(nearest, frames).map(([category, count]) => ({
      category,
      percent: percent(count),
    })),
  };
}

function byPackage(nearest: Map<string, number>, frames: Map<string, CallFrame>): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const [key, count] of nearest) {
    const frame = frames.get(key)!;
    const category =
      frame.lineNumber === -1 ? "outside llmux (Node, V8, GC, framework, deps)" : categoryOf(frame);
    totals.set(category, (totals.get(category) ?? 0) + count);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

export function renderProfileSummary(summary: ProfileSummary): string {
  const pct = (value: number) => `${value.toFixed(1).padStart(5)}%`;
  const lines = [
    `profile ${summary.file}: ${summary.seconds.toFixed(1)} s, ${summary.busySamples} busy samples, idle ${summary.idlePercent.toFixed(1)}% (percentages below are of busy samples)`,
    "",
    "self time by package:",
    ...summary.categories.slice(0, 20).map((entry) => `  ${pct(entry.percent)}  ${entry.category}`),
    "",
    "top functions by self time:",
    ...summary.topSelf.map(
      (entry) => `  ${pct(entry.percent)}  ${entry.function}  [${entry.category}] ${entry.location}`,
    ),
    "",
    "llmux functions by inclusive time (own work + what they call):",
    ...summary.llmuxInclusive.map(
      (entry) => `  ${pct(entry.percent)}  ${entry.function}  [${entry.category}] ${entry.location}`,
    ),
    "",
    "samples charged to the nearest llmux package on the stack:",
    ...summary.nearestByPackage.map((entry) => `  ${pct(entry.percent)}  ${entry.category}`),
    "",
    "samples charged to the nearest llmux function on the stack (what each costs, all in, no double counting):",
    ...summary.nearestLlmux.map(
      (entry) => `  ${pct(entry.percent)}  ${entry.function}  [${entry.category}] ${entry.location}`,
    ),
  ];
  return lines.join("\n");
}

export function summariseFile(file: string, top = 30, window?: SampleWindow): ProfileSummary {
  return summariseProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, basename(file), top, window);
}
