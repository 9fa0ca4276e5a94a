/**
 * Micro-benchmark: CPU of llmux's whole OpenTelemetry pipeline per call, in one process: the
 * call's start, attempt and end on the shared call tracer (content captured, Langfuse and MLflow
 * keys), the drain that makes the spans from the records, the bounded batch processor, and the
 * OTLP/protobuf encoding of the export request (what OtlpHttpSpanExporter sends; no HTTP).
 * process.cpuUsage, so V8's GC threads are included. `npm run build`, then
 * `node apps/bench/micro/otel-pipeline.mjs` (OTEL_DIST=<dir> to measure another build of @llmux/otel).
 *
 * The events are literals with every key written out (core writes its own so too): until 2026-12-07 they
 * were made with `{ ...start, status, ... }`, which on Node 20 (V8 11.3) makes a new hidden class per call
 * once the site has run a while. That alone was about 40 µs of the 55-60 µs per call this printed; without
 * it, 17-18 µs (the two versions alternated on one machine: 56.9 and 59.6 against 17.5 and 18.4).
 * After the encoder's one pass over each string and its cache of repeated values (2026-12-07, late):
 * 14.7-14.8 µs against 17.6-18.0 for the build before, alternated.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = process.env.OTEL_DIST ?? new URL("../../../packages/otel/dist/", import.meta.url).pathname;
const otel = await import(pathToFileURL(resolve(dist, "index.js")).href);

const probe = new otel.OtlpHttpSpanExporter({ url: "http://127.0.0.1:9/v1/traces" });
// the serializer the exporter was built with (llmux's encoder for http/protobuf)
const serializer = probe.delegate._delegate._serializer;
await probe.shutdown();
let bytes = 0;
otel.addSpanExporter(
  {
    export(spans, done) {
      bytes += serializer.serializeRequest(spans).length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  },
  { name: "micro", key: "micro", batch: { maxQueueSize: 4096, maxExportBatchSize: 512 } },
);
const tracer = otel.getSharedCallTracer({ captureContent: true });

function oneCall(index, T0) {
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
  // the attempt's record; startAttempt reads the keys it was announced with from it
  const attempt = {
    index: 0,
    deploymentId: "gpt-4o-0",
    provider: "openai",
    model: "gpt-4o",
    apiBase: "http://127.0.0.1:4000/v1",
    fallback: false,
    startTime: T0 + 1,
    modelGroup: "gpt-4o",
    endTime: T0 + 5,
    latencyMs: 4,
    outcome: "success",
  };
  const end = {
    callId: start.callId,
    callType: start.callType,
    stream: start.stream,
    modelGroup: start.modelGroup,
    requestedModel: start.requestedModel,
    startTime: start.startTime,
    requestParams: start.requestParams,
    messages: start.messages,
    redacted: start.redacted,
    tags: start.tags,
    metadata: start.metadata,
    status: "success",
    deploymentId: "gpt-4o-0",
    provider: "openai",
    apiBase: "http://127.0.0.1:4000/v1",
    responseModel: "gpt-4o",
    responseId: `chatcmpl-${index}`,
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
  trace.startAttempt(attempt).end(attempt);
  trace.end(end);
}

const CALLS = Number(process.env.CALLS ?? 20_000);
let lowest = Number.POSITIVE_INFINITY;
for (let round = 0; round < Number(process.env.ROUNDS ?? 12); round++) {
  const before = process.cpuUsage();
  const T0 = Date.now();
  for (let index = 0; index < CALLS; index++) {
    oneCall(index, T0);
    // the server's rhythm: the records of a few hundred calls per drain and export
    if (index % 256 === 255) await otel.flushTracing();
  }
  await otel.flushTracing();
  const used = process.cpuUsage(before);
  const perCall = (used.user + used.system) / CALLS;
  lowest = Math.min(lowest, perCall);
  console.log(
    `round ${round}: ${perCall.toFixed(1)} µs of CPU per call (${(bytes / CALLS).toFixed(0)} bytes)`,
  );
  bytes = 0;
}
console.log(`otel pipeline: lowest ${lowest.toFixed(1)} µs of CPU per call (others run on this machine)`);
