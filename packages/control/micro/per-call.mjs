/**
 * Micro-benchmark: process CPU per call of the control plane alone (one part, not the gateway), as the
 * gateway drives it for a cached virtual key with a budget and an rpm limit: `authenticate`,
 * `beforeCall` (the context the gateway builds from the access), `afterCall` with a final CallEvent
 * shaped like core's, and the spend rows written in batches every second (PostgreSQL: the client's
 * side — JSON text, pg's protocol work — is in this process, the database's work is not; PGlite: all
 * of it). The events themselves are built before the timed part (they are core's cost, not the
 * control plane's).
 *
 *   npx turbo run build --filter=@llmux/control
 *   node packages/control/micro/per-call.mjs [pg|pglite] [seconds per round, default 4] [calls/s, default 2000]
 *
 * PostgreSQL: BENCH_CONTROL_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); a fresh
 * database, dropped at the end.
 */
import pg from "pg";
import { createControlPlane, hashKey, openStore } from "../dist/index.js";

const storeKind = process.argv[2] ?? "pg";
const seconds = Number(process.argv[3] ?? 4);
/** Calls per second, about what the gateway serves at concurrency 50 on this machine (the batch sizes follow). */
const rate = Number(process.argv[4] ?? 2000);
const adminUrl = process.env.BENCH_CONTROL_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const TOKEN = "sk-bench-virtual-key-0123456789abcdefghijklmnop";

async function createDatabase() {
  const name = `llmux_micro_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

const database = storeKind === "pg" ? await createDatabase() : undefined;
const store = await openStore(database ? { databaseUrl: database.url } : { dataDir: "memory://" });
await store.insert("key", {
  token: hashKey(TOKEN),
  key_name: "sk-...mnop",
  key_alias: "bench",
  max_budget: 1e9,
  rpm_limit: 1e9,
});
const plane = await createControlPlane({ store, isMasterKey: () => false });
const hooks = plane.hooks;
// the key's first lookup loads it from the database; every later call finds it cached
await plane.authenticate(TOKEN, { headers: {} });

const T0 = Date.now();
let sequence = 0;
const body = { model: "gpt-4o", messages: [{ role: "user", content: "hello" }] };

/** What core hands the hooks for one call (built outside the timed loop when `prebuilt`). */
function callOf() {
  const callId = `call-${process.pid}-${sequence++}`;
  const request = { headers: { authorization: `Bearer ${TOKEN}` } };
  return { callId, request };
}

function eventOf(callId, context) {
  return {
    callId,
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    startTime: T0,
    requestParams: {},
    redacted: false,
    tags: context.tags,
    metadata: context.metadata,
    status: "success",
    usage: {
      inputTokens: 20,
      outputTokens: 12,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
      totalTokens: 32,
    },
    cost: {
      total: 0.00017,
      input: 0.00005,
      output: 0.00012,
      cacheRead: 0,
      cacheCreation: 0,
      currency: "USD",
    },
    timings: { startTime: T0, endTime: T0 + 6, durationMs: 6, upstreamMs: 5, overheadMs: 1 },
    attempts: [],
    fallbacks: 0,
    deploymentId: "gpt-4o-0",
    provider: "openai",
  };
}

/** One call through the plugin; `withControl` false builds the same objects without the plugin. */
function oneCall(withControl) {
  const { callId, request } = callOf();
  const access = withControl ? plane.authenticate(TOKEN, request) : { context: { metadata: {} } };
  const context = { tags: [], metadata: { ...access.context.metadata } };
  const before = { callId, callType: "chat", modelGroup: "gpt-4o", body, context, request };
  if (withControl) hooks.beforeCall(before);
  const event = eventOf(callId, context);
  if (withControl) hooks.afterCall({ ...before, event });
}

async function round(withControl) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let calls = 0;
  while (performance.now() - started < seconds * 1000) {
    // 10 calls, then the event loop turns (the writer's timer and the database's answers run) until
    // the next 10 are due
    for (let index = 0; index < 10; index++) oneCall(withControl);
    calls += 10;
    const due = started + (calls / rate) * 1000;
    const wait = due - performance.now();
    await new Promise((resolve) => (wait > 1 ? setTimeout(resolve, wait) : setImmediate(resolve)));
  }
  await plane.flushSpend();
  const used = process.cpuUsage(cpu);
  return ((used.user + used.system) / 1000 / calls) * 1000; // µs per call
}

const results = { without: [], with: [] };
for (let index = 0; index < 4; index++) {
  results.without.push(await round(false));
  results.with.push(await round(true));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(
  `${storeKind}: control plane per call ${(median(results.with) - median(results.without)).toFixed(2)} µs CPU (with ${results.with.map((v) => v.toFixed(2)).join("/")}, objects only ${results.without.map((v) => v.toFixed(2)).join("/")}), rows written ${plane.stats().spendRowsWritten}, dropped ${plane.stats().spendRowsDropped}`,
);
await plane.shutdown();
await store.close();
await database?.drop();
