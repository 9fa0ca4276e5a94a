/**
 * Micro-benchmark: CPU to encode llmux's spans as OTLP/protobuf, the transformer's
 * ProtobufTraceSerializer against llmux's encoder (the one OtlpHttpSpanExporter uses), on the
 * same batches of 512 spans (5120 calls, call + attempt span each, content captured).
 * `npm run build`, then `node apps/bench/micro/otlp-encoding.mjs`.
 */
import { createRequire } from "node:module";
import * as otel from "../../../packages/otel/dist/index.js";

const require = createRequire(new URL("../../../packages/otel/package.json", import.meta.url));
const { ProtobufTraceSerializer } = require("@opentelemetry/otlp-transformer");

const batches = [];
otel.addSpanExporter(
  {
    export(spans, done) {
      batches.push(spans);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  },
  { name: "micro", key: "micro" },
);
const tracer = otel.getSharedCallTracer({ captureContent: true });
const T0 = Date.now();
for (let index = 0; index < 5120; index++) {
  const start = {
    callId: `c${index}`,
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    startTime: T0,
    requestParams: { temperature: 0.2, max_tokens: 256 },
    messages: [{ role: "user", content: "Say hello to the benchmark, please, in twelve words or so." }],
    redacted: false,
    tags: [],
    metadata: {},
  };
  const attempt = {
    index: 0,
    modelGroup: "gpt-4o",
    deploymentId: "gpt-4o-0",
    provider: "openai",
    model: "gpt-4o",
    apiBase: "http://127.0.0.1:4000",
    startTime: T0 + 1,
    endTime: T0 + 5,
    latencyMs: 4,
    outcome: "success",
    fallback: false,
  };
  const end = {
    ...start,
    status: "success",
    deploymentId: "gpt-4o-0",
    provider: "openai",
    apiBase: "http://127.0.0.1:4000",
    responseModel: "gpt-4o",
    responseId: "chatcmpl-1",
    finishReasons: ["stop"],
    usage: {
      inputTokens: 20,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      outputTokens: 12,
      reasoningTokens: 0,
      totalTokens: 32,
    },
    cost: {
      input: 0.00005,
      output: 0.00012,
      cacheRead: 0,
      cacheCreation: 0,
      total: 0.00017,
      currency: "USD",
    },
    timings: { startTime: T0, endTime: T0 + 6, durationMs: 6, upstreamMs: 4, overheadMs: 2 },
    attempts: [attempt],
    fallbacks: 0,
    response: {
      role: "assistant",
      content: "Hello benchmark, here are twelve words for you to count today.",
    },
  };
  const trace = tracer.startCall(start, {});
  const attemptTrace = trace.startAttempt(attempt);
  attemptTrace.end(attempt);
  trace.end(end);
  // hand the spans over before the exporter's 2048-span queue fills
  if (index % 256 === 255) await otel.flushTracing();
}
await otel.flushTracing();
const spans = batches.flat().length;
const exporter = new otel.OtlpHttpSpanExporter({ url: "http://127.0.0.1:9/v1/traces" });
// the serializer the exporter was built with (llmux's encoder for http/protobuf)
const llmux = exporter.delegate._delegate._serializer;

function measure(name, serializer) {
  let lowest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 10; round++) {
    const before = process.cpuUsage();
    let bytes = 0;
    for (let repeat = 0; repeat < 5; repeat++)
      for (const batch of batches) bytes += serializer.serializeRequest(batch).length;
    const used = process.cpuUsage(before);
    const calls = (spans / 2) * 5;
    lowest = Math.min(lowest, (used.user + used.system) / calls);
    console.log(
      `${name} round ${round}: ${((used.user + used.system) / calls).toFixed(1)} µs of CPU per call (2 spans, ${(bytes / calls).toFixed(0)} bytes)`,
    );
  }
  console.log(
    `${name}: lowest ${lowest.toFixed(1)} µs of CPU per call (the figure quoted; others run on this machine)`,
  );
}
measure("transformer", ProtobufTraceSerializer);
measure("llmux", llmux);
await exporter.shutdown();
