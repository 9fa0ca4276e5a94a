// Same-run A/B of two builds: one upstream, the same llmux server script of apps/bench built in two
// checkouts (A, B) and the floor proxy, loaded in alternating slices at concurrency 50 (the order of
// the three changes per slice); CPU per call of each server from /proc/<pid>/stat (utime + stime).
// The ratios within one run hold on a busy machine where two separate bench runs do not.
//
//   node apps/bench/micro/ab-builds.mjs <checkoutA> <checkoutB> [off|all] [plain|stream] [slices=12] \
//        [sliceMs=1500] [script=llmux-node-server.js] [floor framework: "" (node:http) | express]
//
// Both checkouts must be built (npx turbo run build). Prints one JSON line: ms per call of A, B and
// the floor, B ÷ A, and each ÷ the floor (whole run and median slice).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Pool } = require("undici");
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
const C = 50;
const tick = 100; // clock ticks per second (CLK_TCK)
function start(path, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", path], {
      env: { ...process.env, ...env, NODE_ENV: "production" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (message) => {
      if (message.type === "ready") resolve({ child, url: message.url, details: message.details });
      else if (message.type === "failed") reject(new Error(message.message));
    });
    child.on("exit", (code) => reject(new Error(`exit ${code}`)));
  });
}
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * (1000 / tick);
};
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
const stream = workload === "stream";
const body = JSON.stringify({
  model: "gpt-4o",
  messages: [{ role: "user", content: "hello there" }],
  ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
});
const headers = {
  "content-type": "application/json",
  authorization: "Bearer sk-bench-master-key-0123456789",
};
async function load(server, ms) {
  if (!server.pool) server.pool = new Pool(server.url, { connections: C });
  const pool = server.pool;
  let calls = 0;
  const until = Date.now() + ms;
  const path = server.url.endsWith("/v1") ? "/chat/completions" : "/v1/chat/completions";
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (Date.now() < until) {
        const response = await pool.request({ path, method: "POST", headers, body });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${text.slice(0, 200)}`);
        calls++;
      }
    }),
  );
  return calls;
}
// warm-up: 6000 calls-worth of time each, alternating
for (let round = 0; round < 3; round++) for (const server of servers) await load(server, 1500);
const totals = servers.map(() => ({ calls: 0, cpu: 0, perSlice: [] }));
for (let slice = 0; slice < Number(slices); slice++) {
  const orders = [
    [0, 1, 2],
    [2, 1, 0],
    [1, 2, 0],
    [0, 2, 1],
    [2, 0, 1],
    [1, 0, 2],
  ];
  const order = orders[slice % orders.length];
  for (const index of order) {
    const server = servers[index];
    const before = cpu(server.child.pid);
    const calls = await load(server, Number(sliceMs));
    const used = cpu(server.child.pid) - before;
    totals[index].calls += calls;
    totals[index].cpu += used;
    totals[index].perSlice.push(used / calls);
  }
}
const med = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
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
  }),
);
for (const server of [...servers, upstream]) server.child.kill("SIGTERM");
for (const server of servers) await server.pool?.close();
process.exit(0);
