/** Command-line options of the bench. */
import { parseArgs } from "node:util";
import { ABLATION_TARGETS, type BenchMode, defaultTargets, findTarget, TARGETS } from "./plan";
import { EXPERIMENTS } from "./servers/experiments";
import type { TargetName } from "./types";

export const USAGE = `Usage: node apps/bench/dist/main.js [--smoke | --soak | --profile <target>] [options]

Modes:
  (default)            the short comparison (under 2 minutes): every target × plain/stream × c1/c50 + fixed rate
  --smoke              a few seconds, tiny counts, every scenario and a mini soak; asserts nothing about speed
  --soak               200k calls (one in four streamed) against llmux with everything on; reports RSS growth
  --profile <target>   runs <target>'s server under node --cpu-prof and summarises the profile

Options:
  --targets a,b,...    targets to run (${TARGETS.map((target) => target.name).join(", ")})
  --calls N            soak length (default 200000)
  --rate N             calls/s of the fixed-rate workload (default 300)
  --seconds N          profile load duration per call kind (default 15)
  --concurrency N      profile load concurrency (default 50; 1 shows what a lone call costs)
  --ablation           also run llmux on Express with each part of "everything on" alone (auth, jsonl,
                       prometheus, otel without content, otel with content): what each part costs
  --workloads a,b      only these workloads (plain-c1, plain-c50, stream-c1, stream-c50, plain-rate)
  --nice               run the bench and its servers at the highest scheduling priority (nice -20; needs
                       root): on a machine shared with other work, the figures then move much less
  --experiment a,b     also run llmux-express-all with what-if experiments (repeatable; see servers/experiments.ts)
  --json <path>        where to write the JSON results (default apps/bench/results/<mode>-latest.json, latest.json for the short run)
  --help`;

export interface BenchOptions {
  mode: BenchMode;
  targets: TargetName[];
  calls?: number;
  rate: number;
  seconds: number;
  /** The profile's load concurrency. */
  concurrency: number;
  profileTarget?: TargetName;
  json?: string;
  help: boolean;
  nice: boolean;
  /** Only these workloads (default: all of the mode). */
  workloads?: string[];
}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${flag} must be a positive number, got "${text}"`);
  return value;
}

function targetName(text: string): TargetName {
  const found = findTarget(text as TargetName);
  if (!found)
    throw new Error(`unknown target "${text}" (known: ${TARGETS.map((target) => target.name).join(", ")})`);
  return found.name;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: "boolean" },
      soak: { type: "boolean" },
      profile: { type: "string" },
      targets: { type: "string" },
      calls: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      concurrency: { type: "string" },
      json: { type: "string" },
      experiment: { type: "string", multiple: true },
      ablation: { type: "boolean" },
      nice: { type: "boolean" },
      workloads: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  const modes = [values.smoke && "smoke", values.soak && "soak", values.profile && "profile"].filter(Boolean);
  if (modes.length > 1) throw new Error(`choose one mode, not ${modes.join(" and ")}`);
  const mode = (modes[0] || "short") as BenchMode;
  const options: BenchOptions = {
    mode,
    targets: values.targets
      ? values.targets.split(",").map((name) => targetName(name.trim()))
      : defaultTargets(mode),
    rate: positive("--rate", values.rate) ?? 300,
    seconds: positive("--seconds", values.seconds) ?? 15,
    concurrency: Math.round(positive("--concurrency", values.concurrency) ?? 50),
    help: values.help === true,
    nice: values.nice === true,
  };
  if (values.workloads) options.workloads = values.workloads.split(",").map((name) => name.trim());
  if (values.ablation) options.targets.push(...ABLATION_TARGETS);
  for (const group of values.experiment ?? []) {
    for (const name of group.split(","))
      if (!(EXPERIMENTS as readonly string[]).includes(name))
        throw new Error(`unknown experiment "${name}" (known: ${EXPERIMENTS.join(", ")})`);
    options.targets.push(`llmux-express-all+${group}`);
  }
  const calls = positive("--calls", values.calls);
  if (calls !== undefined) options.calls = Math.round(calls);
  if (values.profile) options.profileTarget = targetName(values.profile);
  if (values.json) options.json = values.json;
  return options;
}
