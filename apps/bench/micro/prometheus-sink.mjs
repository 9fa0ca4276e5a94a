/**
 * Micro-benchmark: process CPU per call of the Prometheus sink alone (start, attempt and end
 * events of one call, 200 000 calls per round, one label set), as the callback engine calls it,
 * for each metric naming: llmux (the default), litellm (LiteLLM's names), both, and litellm with
 * the budget metadata a control plane adds to every call (litellm-budgets: key and team spend,
 * budgets and reset dates, which set LiteLLM's budget gauges per call).
 * `npm run build`, then `node apps/bench/micro/prometheus-sink.mjs [llmux|litellm|both|litellm-budgets ...]`
 * (all four when none is named).
 */
import { prometheusPlugin } from "../../../packages/prometheus/dist/index.js";

// the key and team as the control plane puts them in the call's metadata (read by the LiteLLM names)
const METADATA = {
  user_api_key_hash: "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
  user_api_key_alias: "alias-bench",
  user_api_key_team_id: "team-bench",
  user_api_key_team_alias: "Bench",
  user_api_key_user_id: "internal-user-1",
};
const BUDGET_METADATA = {
  ...METADATA,
  user_api_key_spend: 1.5,
  user_api_key_max_budget: 10,
  user_api_key_budget_reset_at: "2030-01-01T00:00:00Z",
  user_api_key_team_spend: 3,
  user_api_key_team_max_budget: 100,
};
const CONFIGURATIONS = {
  llmux: { metricNames: "llmux", metadata: METADATA },
  litellm: { metricNames: "litellm", metadata: METADATA },
  both: { metricNames: "both", metadata: METADATA },
  "litellm-budgets": { metricNames: "litellm", metadata: BUDGET_METADATA },
};
const T0 = Date.now();

function call(index, metadata) {
  const callId = `c${index}`;
  // the attempt event (the record with the call id); the final event's attempts hold it too
  const attempt = {
    index: 0,
    deploymentId: "gpt-4o-0",
    modelGroup: "gpt-4o",
    provider: "openai",
    model: "gpt-4o",
    apiBase: "http://127.0.0.1:4000/v1",
    outcome: "success",
    startTime: T0,
    endTime: T0 + 5,
    latencyMs: 5,
    fallback: false,
    callId,
  };
  const start = {
    callId,
    callType: "chat",
    stream: index % 2 === 0,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    startTime: T0,
    requestParams: {},
    redacted: false,
    tags: [],
    metadata,
  };
  // every key written out (a spread copy plus keys makes a new hidden class per call on Node 20, and the
  // sink's property reads would then see a thousand shapes)
  const end = {
    callId,
    callType: "chat",
    stream: start.stream,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    startTime: T0,
    requestParams: start.requestParams,
    redacted: false,
    tags: start.tags,
    metadata: start.metadata,
    status: "success",
    usage: {
      inputTokens: 20,
      outputTokens: 12,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
      totalTokens: 32,
    },
    cost: { total: 0.0001, input: 0.00005, output: 0.00005, cacheRead: 0, cacheCreation: 0, currency: "USD" },
    timings: { startTime: T0, endTime: T0 + 6, durationMs: 6, upstreamMs: 5, overheadMs: 1, ttftMs: 3 },
    attempts: [attempt],
    fallbacks: 0,
    deploymentId: "gpt-4o-0",
    provider: "openai",
  };
  return { start, attempt, end };
}

const perRound = 200_000;

async function measure(name) {
  const { metricNames, metadata } = CONFIGURATIONS[name];
  const calls = Array.from({ length: 1000 }, (_, index) => call(index, metadata));
  const plugin = prometheusPlugin({ metricNames });
  const sink = plugin.sink;
  // the LiteLLM names alone have no start handler (LiteLLM counts no calls in flight)
  const onStart = sink.onStart ? (event) => sink.onStart(event) : () => undefined;
  let lowest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    for (let index = 0; index < perRound; index++) {
      const { start, attempt, end } = calls[index % calls.length];
      onStart(start);
      sink.onAttempt(attempt);
      sink.onSuccess(end);
    }
    const used = process.cpuUsage(before);
    lowest = Math.min(lowest, (used.user + used.system) / perRound);
    console.log(
      `${name} round ${round}: ${((used.user + used.system) / perRound).toFixed(2)} µs of CPU per call`,
    );
  }
  await plugin.registry.metrics();
  return lowest;
}

const named = process.argv.slice(2);
for (const name of named)
  if (!(name in CONFIGURATIONS))
    throw new Error(`unknown configuration ${name} (${Object.keys(CONFIGURATIONS).join(", ")})`);
const results = [];
for (const name of named.length > 0 ? named : Object.keys(CONFIGURATIONS))
  results.push([name, await measure(name)]);
for (const [name, lowest] of results)
  console.log(
    `lowest (${name}): ${lowest.toFixed(2)} µs of CPU per call (the figure quoted; others run on this machine)`,
  );
