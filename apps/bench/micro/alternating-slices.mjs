// The same-run comparison shared by ab-builds.mjs (two builds of one server) and ab-targets.mjs (several
// targets of one build): each server in its own process, loaded in alternating slices at a fixed
// concurrency (the order changes per slice), CPU per call of each from /proc/<pid>/stat (utime + stime,
// every thread of the process). The ratios within one run hold on a busy machine where two separate
// bench runs do not: every server sees the same noise, a few seconds apart.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Pool } = require("undici");

/** The key the bench's load generator sends (servers/bench-keys.ts: the master key, or the virtual key). */
export const BENCH_KEY = "sk-bench-master-key-0123456789";
const TICKS_PER_SECOND = 100; // CLK_TCK

/**
 * Starts `node <path>` as a bench child server (server-protocol.ts: it announces its URL over IPC) and
 * answers { child, url, details, request(type) } once it listens; request sends one of the protocol's
 * messages (flush, gc, stop, ...) and resolves with the child's reply.
 */
export function startServer(path, env, nodeArgs = ["--expose-gc", ...serverNodeArgs()]) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, path], {
      env: { ...process.env, ...env, NODE_ENV: "production" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let nextId = 1;
    const waiting = new Map();
    child.on("message", (message) => {
      if (message.type === "ready") {
        resolve({
          child,
          url: message.url,
          details: message.details,
          request(type) {
            const id = nextId++;
            return new Promise((answer) => {
              waiting.set(id, answer);
              child.send({ type, id });
            });
          },
        });
      } else if (message.type === "reply") {
        waiting.get(message.id)?.(message.value);
        waiting.delete(message.id);
      } else if (message.type === "failed") reject(new Error(message.message));
    });
    child.on("exit", (code) => reject(new Error(`${path} exited (${code})`)));
  });
}

/**
 * Extra node flags for every server started (e.g. BENCH_SERVER_NODE_ARGS="--max-semi-space-size=32"), so a
 * V8 setting can be tried on the servers alone, not on this load generator (as NODE_OPTIONS would).
 */
export function serverNodeArgs() {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
}

/** CPU milliseconds (user + system, every thread) process `pid` has used since it started. */
export function processCpuMs(pid, path = `/proc/${pid}/stat`) {
  const stat = readFileSync(path, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1000 / TICKS_PER_SECOND);
}

/** CPU milliseconds (user + system) of process `pid`'s main thread only (JavaScript; not GC helpers, libuv's pool). */
export function mainThreadCpuMs(pid) {
  return processCpuMs(pid, `/proc/${pid}/task/${pid}/stat`);
}

/** CPU milliseconds used so far by each process whose command is `command` (e.g. postgres), by pid. */
export function commandCpuMs(command) {
  const used = new Map();
  for (const entry of readdirSync("/proc")) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== command) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      used.set(entry, (Number(fields[11]) + Number(fields[12])) * (1000 / TICKS_PER_SECOND));
    } catch {
      // gone meanwhile
    }
  }
  return used;
}

/**
 * CPU milliseconds the processes of `after` used since `before` (two commandCpuMs readings): a process
 * started meanwhile counts from zero; one that exited meanwhile is not counted (its time is gone).
 */
export function cpuGrowthMs(before, after) {
  let total = 0;
  for (const [pid, used] of after) total += used - (before.get(pid) ?? 0);
  return total;
}

/** CPU milliseconds the whole machine has been busy (every core; /proc/stat, without idle and iowait). */
export function machineBusyMs() {
  const fields = readFileSync("/proc/stat", "utf8")
    .split("\n", 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) * (1000 / TICKS_PER_SECOND);
}

/** The request body of the bench's chat completion, plain or streamed. */
export function chatBody(workload) {
  return JSON.stringify({
    model: "gpt-4o",
    messages: [{ role: "user", content: "hello there" }],
    ...(workload === "stream" ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/**
 * Closed-loop load on one server for `ms`: `concurrency` callers, each sending the next call when its
 * last one is read whole (every answer must be 200). `route` is under /v1 (default /chat/completions).
 * Answers the number of calls.
 */
export async function load(
  server,
  { ms, body, concurrency = 50, headers = {}, route = "/chat/completions" },
) {
  if (!server.pool) server.pool = new Pool(server.url, { connections: concurrency });
  const pool = server.pool;
  const requestHeaders = {
    "content-type": "application/json",
    authorization: `Bearer ${BENCH_KEY}`,
    ...server.details?.requestHeaders,
    ...headers,
  };
  let calls = 0;
  const until = Date.now() + ms;
  const path = server.url.endsWith("/v1") ? route : `/v1${route}`;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const response = await pool.request({ path, method: "POST", headers: requestHeaders, body });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${text.slice(0, 200)}`);
        calls++;
      }
    }),
  );
  return calls;
}

/**
 * The order of the servers in slice `slice`: rotated by one every two slices, reversed every other
 * slice, so each server runs first, last and between the others as often (for three servers the six
 * orders are the six permutations).
 */
export function sliceOrder(count, slice) {
  const shift = Math.floor(slice / 2) % count;
  const order = Array.from({ length: count }, (_, index) => (index + shift) % count);
  return slice % 2 === 1 ? order.reverse() : order;
}

/**
 * Warm-up (`warmupRounds` slices of each server, alternating), then `slices` slices of `sliceMs` per
 * server in alternating orders. With `flush`, each slice ends with the server's flush (its telemetry
 * and batched writes: work deferred by its calls lands in its own slice, not in another server's).
 * With `alsoMeasure` (a function reading the CPU of processes outside the servers, e.g. the database,
 * and `alsoGrowth(before, after)`, the milliseconds between two readings), that CPU is read around
 * each slice too. Answers per server { calls, cpu, main (the main thread's part of cpu), perSlice: ms per call of each
 * slice, other, perSliceOther, gc (with `gcTime`: the main thread's GC pauses in ms, which the servers
 * report) }; and `others`, the cores the rest of the machine used meanwhile (not the
 * servers, this process, the `helpers` (e.g. the upstream) or what alsoMeasure read: the noise).
 */
export async function runSlices(servers, options) {
  const { slices = 12, sliceMs = 1500, warmupRounds = 3, flush = false, helpers = [] } = options;
  const { alsoMeasure = () => 0, alsoGrowth = (before, after) => after - before, gcTime = false } = options;
  const slice = async (server) => {
    const calls = await load(server, { ...options, ms: sliceMs });
    if (flush) await server.request("flush");
    return calls;
  };
  for (let round = 0; round < warmupRounds; round++) for (const server of servers) await slice(server);
  const totals = servers.map(() => ({
    calls: 0,
    cpu: 0,
    main: 0,
    perSlice: [],
    other: 0,
    perSliceOther: [],
    gc: 0,
  }));
  const startedAt = Date.now();
  const busyBefore = machineBusyMs();
  const selfBefore = ownCpuMs();
  const helpersCpu = () => helpers.reduce((sum, helper) => sum + processCpuMs(helper.child.pid), 0);
  const helpersBefore = helpersCpu();
  let measured = 0;
  for (let index = 0; index < slices; index++) {
    for (const at of sliceOrder(servers.length, index)) {
      const server = servers[at];
      const before = processCpuMs(server.child.pid);
      const mainBefore = mainThreadCpuMs(server.child.pid);
      const gcBefore = gcTime ? await server.request("gcTime") : 0;
      const otherBefore = alsoMeasure();
      const calls = await slice(server);
      const used = processCpuMs(server.child.pid) - before;
      const other = alsoGrowth(otherBefore, alsoMeasure());
      measured += used + other;
      const total = totals[at];
      total.calls += calls;
      total.cpu += used;
      total.main += mainThreadCpuMs(server.child.pid) - mainBefore;
      total.perSlice.push(used / calls);
      if (gcTime) total.gc += (await server.request("gcTime")) - gcBefore;
      total.other += other;
      total.perSliceOther.push(other / calls);
    }
  }
  const wallMs = Date.now() - startedAt;
  const ours = measured + (ownCpuMs() - selfBefore) + (helpersCpu() - helpersBefore);
  const others = (machineBusyMs() - busyBefore - ours) / wallMs;
  return { totals, others: Math.max(0, others) };
}

function ownCpuMs() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The lower and upper quartiles of `values` (the middle half of the slices lies between them). */
export function quartiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return [sorted[Math.floor((sorted.length - 1) / 4)], sorted[Math.ceil(((sorted.length - 1) * 3) / 4)]];
}

export function round(value, digits) {
  return +value.toFixed(digits);
}
