/**
 * Micro-benchmark: process CPU (every thread: the file writes run on libuv's pool) per event of
 * the JSONL sink, 20 000 events per round, a drain every 50 events as the engine makes at ~1000
 * calls/s. `npm run build`, then `node apps/bench/micro/jsonl-sink.mjs`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonlSink } from "../../../packages/callbacks/dist/index.js";

const directory = mkdtempSync(join(tmpdir(), "llmux-jsonl-micro-"));
const sink = jsonlSink({
  path: join(directory, "calls.jsonl"),
  maxBytes: 512 * 1024 * 1024,
  maxFiles: 1,
  fsync: false,
});
const T0 = Date.now();
const event = (index) => ({
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
  cost: { input: 0.00005, output: 0.00012, cacheRead: 0, cacheCreation: 0, total: 0.00017, currency: "USD" },
  timings: { startTime: T0, endTime: T0 + 6, durationMs: 6, upstreamMs: 4, overheadMs: 2 },
  attempts: [],
  fallbacks: 0,
  response: { role: "assistant", content: "Hello benchmark, here are twelve words for you to count today." },
});
const events = Array.from({ length: 1000 }, (_, index) => event(index));
const perRound = 20_000;
let lowest = Number.POSITIVE_INFINITY;
for (let round = 0; round < 6; round++) {
  const before = process.cpuUsage();
  for (let index = 0; index < perRound; index++) {
    const pending = sink.onSuccess(events[index % events.length]);
    if (pending) await pending;
    if (index % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await sink.flush();
  const used = process.cpuUsage(before);
  lowest = Math.min(lowest, (used.user + used.system) / perRound);
  console.log(
    `round ${round}: ${((used.user + used.system) / perRound).toFixed(1)} µs of process CPU per event`,
  );
}
await sink.shutdown();
rmSync(directory, { recursive: true, force: true });
console.log(
  `lowest: ${lowest.toFixed(2)} µs of CPU per event (the figure quoted; others run on this machine)`,
);
