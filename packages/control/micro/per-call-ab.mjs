/**
 * Micro-benchmark, A/B: CPU per call of the plugin's hooks for a cached virtual key (authenticate,
 * beforeCall, afterCall with a core-shaped final event; PGlite in memory), for two builds of
 * @llmux/control in one process, in interleaved rounds (the machine's noise hits both). Prints the
 * median µs per call of the hooks alone and with the round's spend rows written (one flushSpend per
 * round of 20 000 calls: batches of 5 000 rows).
 *
 *   node packages/control/micro/per-call-ab.mjs <build A>/index.js <build B>/index.js [calls per round]
 */
const dists = process.argv.slice(2, 4);
const TOKEN = "sk-bench-virtual-key-0123456789abcdefghijklmnop";
const planes = [];
for (const dist of dists) {
  const { createControlPlane, hashKey, openStore } = await import(dist);
  const store = await openStore({ dataDir: "memory://" });
  await store.insert("key", {
    token: hashKey(TOKEN),
    key_name: "sk-...mnop",
    key_alias: "bench",
    max_budget: 1e9,
    rpm_limit: 1e9,
  });
  const plane = await createControlPlane({ store, isMasterKey: () => false });
  await plane.authenticate(TOKEN, { headers: {} });
  planes.push(plane);
}
const T0 = Date.now();
let sequence = 0;
const body = { model: "gpt-4o", messages: [{ role: "user", content: "hello" }] };
function oneCall(plane) {
  const callId = `call-${process.pid}-${sequence++}`;
  const request = { headers: {} };
  const access = plane.authenticate(TOKEN, request);
  const context = { tags: [], metadata: { ...access.context.metadata } };
  const before = { callId, callType: "chat", modelGroup: "gpt-4o", body, context, request };
  plane.hooks.beforeCall(before);
  const event = {
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
  plane.hooks.afterCall({ ...before, event });
}
const results = planes.map(() => []);
const N = Number(process.argv[4] ?? 20000);
for (let r = 0; r < 10; r++)
  for (const i of r % 2 ? [1, 0] : [0, 1]) {
    const cpu = process.cpuUsage();
    for (let k = 0; k < N; k++) oneCall(planes[i]);
    const u1 = process.cpuUsage(cpu);
    await planes[i].flushSpend();
    const u2 = process.cpuUsage(cpu);
    results[i].push([(u1.user + u1.system) / N, (u2.user + u2.system) / N]);
  }
const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const i of [0, 1])
  console.log(
    `${i ? "B" : "A"}: hooks ${med(results[i].map((x) => x[0])).toFixed(2)} µs/call, with the batch write ${med(results[i].map((x) => x[1])).toFixed(2)} µs/call`,
  );
for (const p of planes) await p.shutdown();
process.exit(0);
