// Same-run comparison of several bench TARGETS of one build (ab-builds.mjs compares two builds of one
// target): one upstream, each target's server in its own process, loaded in alternating slices at
// concurrency 50 (the order changes per slice), each slice ended with the server's flush (telemetry and
// spend-log batches land in its own slice); whole-process CPU per call of each, and for each pair
// (baseline/target) target ÷ baseline: over the whole run, of the median slices, and the median (and
// quartiles) of the per-round ratios (the two slices of a round are seconds apart: the steadiest figure).
//
//   node apps/bench/micro/ab-targets.mjs [--pairs control|<baseline>/<target>,...] [--workloads plain,stream]
//        [--slices 12] [--slice-ms 1500] [--concurrency 50] [--json <file>]
//
// --pairs control (the default) is issue 12's comparison: the master key against a virtual key with spend
// logs (@llmux/control), on PostgreSQL and on PGlite, with only auth and with everything on:
//   llmux-express-with:auth/llmux-express-keys-pg, llmux-express-with:auth/llmux-express-keys,
//   llmux-express-all/llmux-express-all-keys-pg,   llmux-express-all/llmux-express-all-keys
// A name with a `#2` suffix is a second process of that target (llmux-express-with:auth/llmux-express-with:auth#2):
// an identical twin, whose ratio is the run's noise floor. With --json, each pair's per-round ratios too
// (pool several runs from them). Targets are the bench's (apps/bench/dist/plan.js: findTarget). After `npx turbo run build`. The
// PostgreSQL server's own CPU (every `postgres` process, read around each slice) is printed apart as
// `db ms/call`: it is outside the measured process, as it is outside a host's.
// `GC pauses ms/call` is the main thread's time in garbage collection (V8's "gc" performance entries, which
// each server reports), a part of its main-thread CPU.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  chatBody,
  commandCpuMs,
  cpuGrowthMs,
  median,
  quartiles,
  round,
  runSlices,
  startServer,
} from "./alternating-slices.mjs";

const CONTROL_PAIRS = [
  "llmux-express-with:auth/llmux-express-keys-pg",
  "llmux-express-with:auth/llmux-express-keys",
  "llmux-express-all/llmux-express-all-keys-pg",
  "llmux-express-all/llmux-express-all-keys",
];
const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "control" },
    workloads: { type: "string", default: "plain,stream" },
    slices: { type: "string", default: "12" },
    "slice-ms": { type: "string", default: "1500" },
    concurrency: { type: "string", default: "50" },
    json: { type: "string" },
  },
});
// Pairs are comma-separated and a target's own name may hold commas (llmux-express-with:auth,hooks): a
// piece continues the pair before it when it has no "/" or that pair has none yet (a baseline's comma).
// When both names of a pair hold commas that is ambiguous: separate the pairs with ";" instead.
const splitPairs = (text) =>
  text.includes(";")
    ? text.split(";").filter(Boolean)
    : text.split(",").reduce((pairs, piece) => {
        if (pairs.length === 0 || (piece.includes("/") && pairs[pairs.length - 1].includes("/")))
          pairs.push(piece);
        else pairs[pairs.length - 1] += `,${piece}`;
        return pairs;
      }, []);
const pairs = (values.pairs === "control" ? CONTROL_PAIRS : splitPairs(values.pairs)).map((pair) => {
  const [baseline, target] = pair.split("/");
  if (!baseline || !target) throw new Error(`--pairs: "${pair}" is not <baseline>/<target>`);
  return { baseline, target };
});
const names = [...new Set(pairs.flatMap((pair) => [pair.baseline, pair.target]))];
const dist = new URL("../dist/", import.meta.url);
const { findTarget } = await import(new URL("plan.js", dist).href);
const definitions = names.map((name) => {
  // "<target>#2": a second process of the same server, under its own name (a twin: its ratio to the
  // first is the run's noise floor)
  const definition = findTarget(name.replace(/#\d+$/, ""));
  if (!definition?.script) throw new Error(`no bench server target named ${name}`);
  return definition;
});

const upstream = await startServer(new URL("servers/upstream-server.js", dist).pathname, {});
const servers = [];
for (const definition of definitions) {
  servers.push(
    await startServer(new URL(definition.script, dist).pathname, {
      ...definition.env,
      BENCH_UPSTREAM_URL: upstream.url,
      BENCH_TRACES_URL: `${upstream.details.receiverUrl}/${definition.name}/v1/traces`,
    }),
  );
}
const usesPostgres = definitions.some((definition) => definition.env?.BENCH_CONTROL_POSTGRES_URL);
const results = [];
for (const workload of values.workloads.split(",")) {
  const { totals, others } = await runSlices(servers, {
    slices: Number(values.slices),
    sliceMs: Number(values["slice-ms"]),
    concurrency: Number(values.concurrency),
    body: chatBody(workload),
    flush: true,
    helpers: [upstream],
    gcTime: true,
    ...(usesPostgres ? { alsoMeasure: () => commandCpuMs("postgres"), alsoGrowth: cpuGrowthMs } : {}),
  });
  const targets = Object.fromEntries(
    names.map((name, index) => {
      const total = totals[index];
      const figures = {
        calls: total.calls,
        ms_per_call: round(total.cpu / total.calls, 4),
        main_thread_ms_per_call: round(total.main / total.calls, 4),
        median_slice: round(median(total.perSlice), 4),
        gc_ms_per_call: round(total.gc / total.calls, 4),
      };
      if (usesPostgres) figures.db_ms_per_call = round(total.other / total.calls, 4);
      return [name, figures];
    }),
  );
  const ratios = pairs.map(({ baseline, target }) => {
    const base = totals[names.indexOf(baseline)];
    const other = totals[names.indexOf(target)];
    const perRound = other.perSlice.map((value, index) => value / base.perSlice[index]);
    const [low, high] = quartiles(perRound);
    return {
      pair: `${target} ÷ ${baseline}`,
      whole_run: round(other.cpu / other.calls / (base.cpu / base.calls), 3),
      median_slices: round(median(other.perSlice) / median(base.perSlice), 3),
      median_round: round(median(perRound), 3),
      round_quartiles: [round(low, 3), round(high, 3)],
      per_round: perRound.map((value) => round(value, 4)),
    };
  });
  const result = { workload, slices: Number(values.slices), others_cores: round(others, 2), targets, ratios };
  results.push(result);
  printResult(result);
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
for (const server of servers) await Promise.race([server.request("stop"), sleep(15_000)]);
for (const server of [...servers, upstream]) server.child.kill("SIGTERM");
for (const server of servers) await server.pool?.close();
process.exit(0);

function printResult({ workload, slices, others_cores, targets, ratios }) {
  console.log(
    `\n${workload}, c${values.concurrency}, ${slices} slices of ${values["slice-ms"]} ms each (others ${others_cores} cores)`,
  );
  console.log("target | CPU ms/call | main thread ms/call | GC pauses ms/call | median slice | db ms/call");
  for (const [name, figures] of Object.entries(targets))
    console.log(
      `${name} | ${figures.ms_per_call} | ${figures.main_thread_ms_per_call} | ${figures.gc_ms_per_call} | ${figures.median_slice} | ${figures.db_ms_per_call ?? "-"}`,
    );
  console.log("pair | whole run | median slices | median round [quartiles]");
  for (const ratio of ratios)
    console.log(
      `${ratio.pair} | ${ratio.whole_run} | ${ratio.median_slices} | ${ratio.median_round} [${ratio.round_quartiles.join(", ")}]`,
    );
  console.log(JSON.stringify({ workload, others_cores, targets, ratios }));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
