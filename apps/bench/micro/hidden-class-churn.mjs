// Which code makes a new V8 hidden class (map) on every call: a server of the bench under load with V8's
// map log (`--log-maps`), then every map event counted by the source position that made it, divided by
// the calls served. A site near 1.0 (or more) per call makes a map per call: each costs 1-2 µs and leaves
// its map and descriptors for the old generation's collector. On Node 20 (V8 11.3) the usual causes are
// a key added to a spread copy (`{ ...record, callId }`) and a key added to an object whose prototype was
// changed (Express's request and response: the framework's own keys show here for express-proxy too).
// Start-up work (the price file's records, module loading) shows as a small fraction per call.
//
//   node apps/bench/micro/hidden-class-churn.mjs [--script llmux-express-server.js] [--mode all]
//        [--workload plain|stream] [--seconds 4] [--min 0.3]
//
// The log is large (about 250 MB for 4 s) and slows the server tenfold: the calls are few, the counts exact.
// `--script bare-proxy-server.js` with BENCH_PROXY_FRAMEWORK=express measures express-proxy.
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { chatBody, load, startServer } from "./alternating-slices.mjs";

const { values } = parseArgs({
  options: {
    script: { type: "string", default: "llmux-express-server.js" },
    mode: { type: "string", default: "all" },
    workload: { type: "string", default: "plain" },
    seconds: { type: "string", default: "4" },
    min: { type: "string", default: "0.3" },
  },
});
const directory = mkdtempSync(join(tmpdir(), "llmux-map-log-"));
const logFile = join(directory, "maps.log");
const upstream = await startServer(
  new URL("../dist/servers/upstream-server.js", import.meta.url).pathname,
  {},
);
const server = await startServer(
  new URL(`../dist/servers/${values.script}`, import.meta.url).pathname,
  {
    BENCH_UPSTREAM_URL: upstream.url,
    BENCH_LLMUX_MODE: values.mode,
    BENCH_TRACES_URL: `${upstream.details.receiverUrl}/v1/traces`,
  },
  ["--expose-gc", "--log-maps", `--logfile=${logFile}`, "--no-logfile-per-isolate"],
);
let calls = 0;
for (let second = 0; second < Number(values.seconds); second++)
  calls += await load(server, { ms: 1000, body: chatBody(values.workload), concurrency: 20 });
await server.request("flush");
await server.request("stop").catch(() => undefined);
upstream.child.kill("SIGTERM");
await new Promise((resolve) => server.child.once("exit", resolve));

// code-creation,<type>,<kind>,<time>,<address>,<size>,<name>: which function a map event's pc is in
const code = [];
const sites = new Map();
for await (const line of createInterface({ input: createReadStream(logFile) })) {
  if (line.startsWith("code-creation,")) {
    const parts = line.split(",");
    const address = Number.parseInt(parts[4], 16);
    code.push([address, address + Number(parts[5]), parts.slice(6).join(",").slice(0, 120)]);
  } else if (line.startsWith("map,")) {
    // map,<event>,<time>,<from>,<to>,<pc>,<line>,<column>,<reason>,<name>
    const parts = line.split(",");
    const key = [
      parts[1],
      parts[5],
      `${parts[6]}:${parts[7]}`,
      parts[8],
      parts.slice(9).join(",").slice(0, 60),
    ];
    const id = key.join("|");
    const site = sites.get(id) ?? { key, count: 0 };
    site.count++;
    sites.set(id, site);
  }
}
rmSync(directory, { recursive: true, force: true });

function functionAt(pc) {
  const address = Number.parseInt(pc, 16);
  for (let index = code.length - 1; index >= 0; index--) {
    const [start, end, name] = code[index];
    if (address >= start && address < end) return name;
  }
  return "(unknown)";
}

console.log(`${values.script} (${values.mode}, ${values.workload}): ${calls} calls`);
console.log("per call | event | reason | key | position | function");
const rows = [...sites.values()]
  .filter((site) => site.count >= calls * Number(values.min))
  .sort((a, b) => b.count - a.count);
for (const { key, count } of rows) {
  const [event, pc, position, reason, name] = key;
  console.log(
    `${(count / calls).toFixed(2).padStart(8)} | ${event} | ${reason || "-"} | ${name} | ${position} | ${functionAt(pc)}`,
  );
}
