// Same-run A/B of two builds: one upstream, the same llmux server script of apps/bench built in two
// checkouts (A, B) and the floor proxy, loaded in alternating slices at concurrency 50 (the order of
// the three changes per slice); CPU per call of each server from /proc/<pid>/stat (utime + stime).
// The ratios within one run hold on a busy machine where two separate bench runs do not.
// Two targets of one build (e.g. master key vs virtual key): ab-targets.mjs.
//
//   node apps/bench/micro/ab-builds.mjs <checkoutA> <checkoutB> [off|all] [plain|stream] [slices=12] \
//        [sliceMs=1500] [script=llmux-node-server.js] [floor framework: "" (node:http) | express]
//
// AB_CONCURRENCY=1 loads them one call at a time instead (at concurrency 1 the calls per slice are the
// latency: `calls` compares them). Each slice ends with the server's flush, so work a server deferred
// (telemetry drains, batched writes) counts in its own slice.
// Both checkouts must be built (npx turbo run build). Prints one JSON line: ms per call of A, B and
// the floor, B ÷ A, and each ÷ the floor (whole run and median slice).
import { chatBody, median as med, runSlices, startServer as start } from "./alternating-slices.mjs";

const [
  dirA,
  dirB,
  mode = "off",
  workload = "plain",
  slices = "12",
  sliceMs = "1500",
  script = "llmux-node-server.js",
  floorFramework = "",
] = process.argv.slice(2);
const upstream = await start(new URL("../dist/servers/upstream-server.js", import.meta.url).pathname, {});
const env = {
  BENCH_UPSTREAM_URL: upstream.url,
  BENCH_LLMUX_MODE: mode,
  BENCH_TRACES_URL: `${upstream.details.receiverUrl}/v1/traces`,
};
const servers = [
  await start(`${dirA}/apps/bench/dist/servers/${script}`, env),
  await start(`${dirB}/apps/bench/dist/servers/${script}`, env),
  await start(`${dirB}/apps/bench/dist/servers/bare-proxy-server.js`, {
    ...env,
    ...(floorFramework ? { BENCH_PROXY_FRAMEWORK: floorFramework } : {}),
  }),
];
// warm-up: three slices of each, alternating
const { totals, others } = await runSlices(servers, {
  slices: Number(slices),
  sliceMs: Number(sliceMs),
  concurrency: Number(process.env.AB_CONCURRENCY ?? 50),
  flush: true,
  body: chatBody(workload),
  helpers: [upstream],
});
const [a, b, floor] = totals;
console.log(
  JSON.stringify({
    mode,
    workload,
    A: dirA,
    B: dirB,
    A_ms_per_call: +(a.cpu / a.calls).toFixed(4),
    B_ms_per_call: +(b.cpu / b.calls).toFixed(4),
    A_median_slice: +med(a.perSlice).toFixed(4),
    B_median_slice: +med(b.perSlice).toFixed(4),
    A_min_slice: +Math.min(...a.perSlice).toFixed(4),
    B_min_slice: +Math.min(...b.perSlice).toFixed(4),
    B_over_A: +(b.cpu / b.calls / (a.cpu / a.calls)).toFixed(3),
    B_over_A_median: +(med(b.perSlice) / med(a.perSlice)).toFixed(3),
    floor_ms_per_call: +(floor.cpu / floor.calls).toFixed(4),
    floor: floorFramework || "bare",
    A_over_floor: +(a.cpu / a.calls / (floor.cpu / floor.calls)).toFixed(2),
    B_over_floor: +(b.cpu / b.calls / (floor.cpu / floor.calls)).toFixed(2),
    A_over_floor_median: +(med(a.perSlice) / med(floor.perSlice)).toFixed(2),
    B_over_floor_median: +(med(b.perSlice) / med(floor.perSlice)).toFixed(2),
    calls: [a.calls, b.calls, floor.calls],
    others_cores: +others.toFixed(2),
  }),
);
for (const server of [...servers, upstream]) server.child.kill("SIGTERM");
for (const server of servers) await server.pool?.close();
process.exit(0);
