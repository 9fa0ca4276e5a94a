/**
 * Micro-benchmark: process CPU per call of the Prometheus sink alone (start, attempt and end
 * events of one call, 200 000 calls per round, one label set), as the callback engine calls it.
 * `npm run build`, then `node apps/bench/micro/prometheus-sink.mjs`.
 */
import { prometheusPlugin } from "../../../packages/prometheus/dist/index.js";

const plugin = prometheusPlugin();
const sink = plugin.sink;
const T0 = Date.now();

function call(index) {
  const callId = `c${index}`;
  // the attempt event (the record with the call id); the final event's attempts hold it too
  const attempt = {
    index: 0,
    deploymentId: "gpt-4o-0",
    modelGroup: "gpt-4o",
    provider: "openai",
    model: "gpt-4o",
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
    metadata: {},
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

const calls = Array.from({ length: 1000 }, (_, index) => call(index));
const perRound = 200_000;
let lowest = Number.POSITIVE_INFINITY;
for (let round = 0; round < 3; round++) {
  const before = process.cpuUsage();
  for (let index = 0; index < perRound; index++) {
    const { start, attempt, end } = calls[index % calls.length];
    sink.onStart(start);
    sink.onAttempt(attempt);
    sink.onSuccess(end);
  }
  const used = process.cpuUsage(before);
  lowest = Math.min(lowest, (used.user + used.system) / perRound);
  console.log(`round ${round}: ${((used.user + used.system) / perRound).toFixed(2)} µs of CPU per call`);
}
await plugin.registry.metrics();
console.log(
  `lowest: ${lowest.toFixed(2)} µs of CPU per call (the figure quoted; others run on this machine)`,
);
