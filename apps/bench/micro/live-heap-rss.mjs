// How a server's RSS under load follows its live heap: one bench server (a child of apps/bench/dist/servers,
// as the bench starts it) loaded at concurrency 50 for 3 s plain, 3 s streamed, twice, its RSS read after
// each; then its live heap after two forced GCs. EXTRA_MB adds that many megabytes of small live objects
// at start-up (`--import` of a data: module), to see what more live heap alone does to the same server.
//
//   node apps/bench/micro/live-heap-rss.mjs [server=bare-proxy-server.js] [mode=off] [EXTRA_MB=0]
//
// After `npx turbo run build`. The short run's RSS check reads one such instant (docs/performance.md).
import { readFileSync } from "node:fs";
import { chatBody, load, startServer } from "./alternating-slices.mjs";

const [script = "bare-proxy-server.js", mode = "off", extraText = "0"] = process.argv.slice(2);
const extraMb = Number(extraText);
const servers = new URL("../dist/servers/", import.meta.url).pathname;
const upstream = await startServer(`${servers}upstream-server.js`, {});
// about 64 bytes of heap per object ({ a, b } and its short string)
const extra = `globalThis.__benchExtraHeap = Array.from({ length: ${Math.round((extraMb * 1024 * 1024) / 64)} }, (_, index) => ({ a: index, b: "x" + index }));`;
const server = await startServer(
  `${servers}${script}`,
  {
    BENCH_UPSTREAM_URL: upstream.url,
    BENCH_LLMUX_MODE: mode,
    BENCH_TRACES_URL: `${upstream.details.receiverUrl}/v1/traces`,
  },
  ["--expose-gc", ...(extraMb > 0 ? ["--import", `data:text/javascript,${encodeURIComponent(extra)}`] : [])],
);
const rssMb = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, "utf8"))?.[1]) / 1024;
const readings = [];
for (const workload of ["plain", "stream", "plain", "stream"]) {
  await load(server, { ms: 3000, body: chatBody(workload), concurrency: 50 });
  readings.push(+rssMb().toFixed(1));
}
await server.request("flush");
const collected = await server.request("gc");
console.log(
  JSON.stringify({
    server: script,
    mode,
    extraMb,
    rssUnderLoadMb: readings,
    liveHeapMb: +(collected.memory.heapUsed / 1048576).toFixed(1),
  }),
);
await server.request("stop").catch(() => undefined);
await upstream.request("stop").catch(() => undefined);
process.exit(0);
