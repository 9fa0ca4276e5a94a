/**
 * An exporter that is down, slow or answering errors never reaches the request path: calls cost
 * the same, nothing throws or rejects, losses are counted, retryable statuses are retried.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type OtlpReceiver, startOtlpReceiver } from "@llmux/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { otlpExporter } from "./exporters";
import {
  addSpanExporter,
  droppedSpans,
  flushTracing,
  getSharedCallTracer,
  resetSharedTracing,
  tracingStats,
} from "./registry";
import { callEvent, runCall } from "./test-fixtures";

let receiver: OtlpReceiver;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** A URL on 127.0.0.1 where nothing listens (connection refused). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1/traces`;
}

function timeCalls(count: number): number {
  const tracer = getSharedCallTracer({ captureContent: true });
  const event = callEvent();
  const started = performance.now();
  for (let index = 0; index < count; index++) runCall(tracer, event);
  return performance.now() - started;
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.on("unhandledRejection", onUnhandled);
});
afterEach(async () => {
  await resetSharedTracing();
  receiver.reset();
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await receiver.close();
});

describe("exporter failures stay off the request path", () => {
  it("a dead endpoint: same per-call cost, no throw, no unhandled rejection, drops counted", async () => {
    const calls = 2000;
    timeCalls(200); // warm-up (JIT, module init)
    const withoutExporter = timeCalls(calls);

    addSpanExporter(otlpExporter({ url: await deadUrl(), timeoutMillis: 300, env: {} }), {
      batch: {
        maxQueueSize: 256,
        maxExportBatchSize: 128,
        scheduledDelayMillis: 5,
        exportTimeoutMillis: 1000,
      },
    });
    const withDeadExporter = timeCalls(calls);
    await flushTracing();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const ratio = withDeadExporter / withoutExporter;
    console.log(
      `[resilience] ${calls} calls: ${withoutExporter.toFixed(1)} ms without exporter, ` +
        `${withDeadExporter.toFixed(1)} ms with a dead exporter (ratio ${ratio.toFixed(2)}); ` +
        `dropped ${droppedSpans()} of ${calls * 2} spans`,
    );
    const [stats] = tracingStats();
    // What was sent: 4000 spans into a queue of 256 in front of a refused connection.
    // What came back: nothing delivered, everything counted as dropped, nothing thrown.
    expect(stats?.exported).toBe(0);
    expect(droppedSpans()).toBe(calls * 2 - (stats?.queued ?? 0));
    expect(stats?.droppedQueueFull).toBeGreaterThan(0);
    expect(stats?.droppedExportFailed).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  });

  it("HTTP 500 is not retried: the batch is counted as dropped; the next batch goes through", async () => {
    addSpanExporter(otlpExporter({ url: receiver.tracesUrl, env: {} }), {
      batch: { scheduledDelayMillis: 5 },
    });
    receiver.failNext(500);
    runCall(getSharedCallTracer(), callEvent());
    await flushTracing();
    expect(receiver.requests.map((request) => request.status)).toEqual([500]);
    expect(droppedSpans()).toBe(2);
    runCall(getSharedCallTracer(), callEvent({}, { callId: "second" }));
    await flushTracing();
    await receiver.waitForSpans(2);
    expect(receiver.requests.map((request) => request.status)).toEqual([500, 200]);
    expect(tracingStats()[0]).toMatchObject({ exported: 2, droppedExportFailed: 2 });
    expect(unhandled).toEqual([]);
  });

  it("HTTP 503 is retried with backoff and then delivered", async () => {
    addSpanExporter(otlpExporter({ url: receiver.tracesUrl, timeoutMillis: 5000, env: {} }), {
      batch: { scheduledDelayMillis: 5 },
    });
    receiver.failNext(503);
    runCall(getSharedCallTracer(), callEvent());
    await flushTracing();
    const spans = await receiver.waitForSpans(2);
    expect(spans).toHaveLength(2);
    expect(receiver.requests.map((request) => request.status)).toEqual([503, 200]);
    expect(droppedSpans()).toBe(0);
  });

  it("a slow backend: the queue is bounded, overflow is counted, calls are not held up", async () => {
    addSpanExporter(otlpExporter({ url: receiver.tracesUrl, timeoutMillis: 400, env: {} }), {
      batch: { maxQueueSize: 20, maxExportBatchSize: 10, scheduledDelayMillis: 5, exportTimeoutMillis: 2000 },
    });
    receiver.delayNext(1500, 3);
    const tracer = getSharedCallTracer();
    const started = performance.now();
    for (let index = 0; index < 100; index++) runCall(tracer, callEvent({}, { callId: `slow-${index}` }));
    const elapsed = performance.now() - started;
    console.log(
      `[resilience] 100 calls against a backend answering after 1.5 s took ${elapsed.toFixed(1)} ms`,
    );
    // the spans are built from the calls' records in the next drain (setImmediate), off the calls' path
    await new Promise((resolve) => setImmediate(resolve));
    const [stats] = tracingStats();
    // 200 spans, 10 in flight, 20 queued: the rest were refused at the door.
    expect(stats?.droppedQueueFull).toBeGreaterThanOrEqual(200 - 30);
    await flushTracing();
    expect(unhandled).toEqual([]);
  });

  it("shutdown flushes what is queued", async () => {
    const handle = addSpanExporter(otlpExporter({ url: receiver.tracesUrl, env: {} }), {
      batch: { scheduledDelayMillis: 60_000 },
    });
    for (let index = 0; index < 5; index++)
      runCall(getSharedCallTracer(), callEvent({}, { callId: `q-${index}` }));
    expect(receiver.spans).toHaveLength(0);
    await handle.remove();
    expect(receiver.spans).toHaveLength(10);
  });
});
