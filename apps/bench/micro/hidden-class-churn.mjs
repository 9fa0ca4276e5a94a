// Which code makes a new V8 hidden class (map) on every call: a server of the bench under load with V8's
// map log (`--log-maps`), then every map event counted by the key it added (and the event and reason),
// divided by the calls served, with the places that made it. A site near 1.0 (or more) per call makes a map per call: each
// costs 1-2 µs and leaves its map and descriptors for the old generation's collector. On Node 20 (V8 11.3)
// the usual causes are a key added to a spread copy (`{ ...record, callId }`) and a key added to an object
// whose prototype was changed (Express's request and response: the framework's own keys show here for
// express-proxy too). Start-up work (the price file's records, module loading) shows as a fraction per call.
//
//   node apps/bench/micro/hidden-class-churn.mjs [--script llmux-express-server.js] [--mode all]
//        [--workload plain|stream|messages|completions] [--seconds 4] [--min 0.3]
//
// `messages` sends Anthropic Messages calls to /v1/messages (translated to the OpenAI-shaped mock),
// `completions` legacy completions to /v1/completions; plain and stream are chat completions.
//
// Events are counted by key, not by the code address V8 logs (which differs between the interpreter's and
// the optimiser's code for one line, and moves) nor by source position (code inlined into another function
// is logged at positions of that function): one key made at two places is one row, with both places. The
// function of a place is the one its code address was in when the event was logged.
// The log slows the server about tenfold: the calls are few, the counts exact.
// `--script bare-proxy-server.js` with BENCH_PROXY_FRAMEWORK=express measures express-proxy.
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { chatBody, load, serverNodeArgs, startServer } from "./alternating-slices.mjs";

const { values } = parseArgs({
  options: {
    script: { type: "string", default: "llmux-express-server.js" },
    mode: { type: "string", default: "all" },
    workload: { type: "string", default: "plain" },
    seconds: { type: "string", default: "4" },
    min: { type: "string", default: "0.3" },
  },
});
const WORKLOADS = {
  plain: { body: chatBody("plain") },
  stream: { body: chatBody("stream") },
  messages: {
    route: "/messages",
    // with the metadata.user_id Claude Code sends on every call
    body: JSON.stringify({
      model: "gpt-4o",
      max_tokens: 64,
      metadata: { user_id: "user_bench" },
      messages: [{ role: "user", content: "hello there" }],
    }),
  },
  completions: { route: "/completions", body: JSON.stringify({ model: "gpt-4o", prompt: "hello there" }) },
};
if (!Object.hasOwn(WORKLOADS, values.workload))
  throw new Error(`--workload: one of ${Object.keys(WORKLOADS).join(", ")}`);
const directory = mkdtempSync(join(tmpdir(), "llmux-map-log-"));
const logFile = join(directory, "maps.log");
try {
  const calls = await runServer();
  const sites = await countSites();
  report(calls, sites);
} finally {
  rmSync(directory, { recursive: true, force: true });
}
process.exit(0);

/** Loads the server for the given seconds with the map log on; answers the calls served. */
async function runServer() {
  const upstream = await startServer(
    new URL("../dist/servers/upstream-server.js", import.meta.url).pathname,
    {},
  );
  // map details (each map's full description) are most of the log and are not read here
  const flags = ["--log-maps", "--no-log-maps-details", `--logfile=${logFile}`, "--no-logfile-per-isolate"];
  const server = await startServer(
    new URL(`../dist/servers/${values.script}`, import.meta.url).pathname,
    {
      BENCH_UPSTREAM_URL: upstream.url,
      BENCH_LLMUX_MODE: values.mode,
      BENCH_TRACES_URL: `${upstream.details.receiverUrl}/v1/traces`,
    },
    ["--expose-gc", ...serverNodeArgs(), ...flags],
  );
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  let calls = 0;
  try {
    for (let second = 0; second < Number(values.seconds); second++)
      calls += await load(server, { ms: 1000, concurrency: 20, ...WORKLOADS[values.workload] });
    await Promise.race([server.request("flush"), sleep(15_000)]);
    await Promise.race([server.request("stop"), sleep(15_000)]);
  } finally {
    upstream.child.kill("SIGTERM");
    // the log is complete once the server has exited
    if (server.child.exitCode === null) await Promise.race([exited, sleep(15_000)]);
    server.child.kill("SIGKILL");
  }
  return calls;
}

/** Map events by site (event, line:column, reason, key), with the functions their code addresses were in. */
async function countSites() {
  // code-creation,<type>,<kind>,<time>,<address>,<size>,<name>: the code ranges logged so far
  const code = [];
  const functionAt = new Map();
  const sites = new Map();
  for await (const line of createInterface({ input: createReadStream(logFile) })) {
    if (line.startsWith("code-creation,")) {
      const parts = line.split(",");
      const address = Number.parseInt(parts[4], 16);
      code.push([address, address + Number(parts[5]), parts.slice(6).join(",")]);
      functionAt.clear();
    } else if (line.startsWith("map,")) {
      // map,<event>,<time>,<from>,<to>,<pc>,<line>,<column>,<reason>,<name>
      const parts = line.split(",");
      const key = parts.slice(9).join(",");
      const id = `${parts[1]}|${parts[8]}|${key}`;
      let site = sites.get(id);
      if (site === undefined) {
        site = { event: parts[1], reason: parts[8], key, count: 0, places: new Map() };
        sites.set(id, site);
      }
      site.count++;
      const pc = parts[5];
      let name = functionAt.get(pc);
      if (name === undefined) {
        const address = Number.parseInt(pc, 16);
        const found = code.findLast(([start, end]) => address >= start && address < end);
        name = found ? found[2].replace(/,0x[0-9a-f]+,[~*^+-]*$/, "") : "(unknown)";
        functionAt.set(pc, name);
      }
      const place = `${parts[6]}:${parts[7]} in ${name}`;
      site.places.set(place, (site.places.get(place) ?? 0) + 1);
    }
  }
  return sites;
}

function report(calls, sites) {
  console.log(`${values.script} (${values.mode}, ${values.workload}): ${calls} calls`);
  if (calls === 0) {
    console.log("no call was served: nothing to divide by");
    return;
  }
  console.log("per call | event | reason | key | places (position in function: share of the key's events)");
  const rows = [...sites.values()]
    .filter((site) => site.count >= calls * Number(values.min))
    .sort((a, b) => b.count - a.count);
  for (const { event, reason, key, count, places } of rows) {
    const where = [...places]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([place, events]) => `${place}: ${Math.round((100 * events) / count)} %`)
      .join("; ");
    console.log(
      `${(count / calls).toFixed(2).padStart(8)} | ${event} | ${reason || "-"} | ${key} | ${where}`,
    );
  }
}
