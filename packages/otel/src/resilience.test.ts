/**
 * An exporter that is down, slow, never answering or answering errors never reaches the request
 * path, checked structurally (no clocks): every call completes within the event-loop turn it
 * started in while an export is still waiting for an answer, nothing throws or rejects, losses are
 * counted, retryable statuses are retried, and shutdown resolves by its deadline.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
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

/** An OTLP endpoint that accepts every request and never answers it. */
async function hangingUrl(): Promise<{ url: string; requests: () => number; close(): void }> {
  const held: ServerResponse[] = [];
  const server: Server = createServer((request, response) => {
    request.resume();
    held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    requests: () => held.length,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * Runs `count` calls and counts the event-loop turns that passed meanwhile: 0 means every call
 * completed in the turn it started in, without waiting on anything (an exporter included).
 */
function runCallsCountingTurns(count: number, prefix: string): { completed: number; turns: number } {
  const tracer = getSharedCallTracer({ captureContent: true });
  let turns = 0;
  const tick = setImmediate(() => turns++);
  let completed = 0;
  for (let index = 0; index < count; index++) {
    const { traceId } = runCall(tracer, callEvent({}, { callId: `${prefix}-${index}` }));
    if (traceId) completed++;
  }
  clearImmediate(tick);
  return { completed, turns };
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
  it("an endpoint that never answers: every call completes while the export waits, overflow is counted, shutdown resolves by its deadline", async () => {
    const hanging = await hangingUrl();
    try {
      const handle = addSpanExporter(otlpExporter({ url: hanging.url, timeoutMillis: 60_000, env: {} }), {
        batch: {
          maxQueueSize: 256,
          maxExportBatchSize: 128,
          scheduledDelayMillis: 5,
          exportTimeoutMillis: 60_000,
        },
      });
      runCall(getSharedCallTracer(), callEvent({}, { callId: "first" }));
      void handle.flush();
      // the first export is now in flight, and its answer never comes
      while (hanging.requests() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(tracingStats()[0]).toMatchObject({ exported: 0, droppedExportFailed: 0 });

      const calls = 2000;
      expect(runCallsCountingTurns(calls, "held")).toEqual({ completed: calls, turns: 0 });
      // the spans are built from the calls' records in the next drain (setImmediate), off their path
      await new Promise((resolve) => setImmediate(resolve));
      const [stats] = tracingStats();
      expect(stats?.exported).toBe(0); // still waiting for the first answer
      expect(stats?.queued).toBeLessThanOrEqual(256);
      expect(stats?.droppedQueueFull).toBeGreaterThan(0);

      // shutdown does not wait for an answer that never comes: queued and in-flight spans are
      // counted as dropped at shutdown (the only way this resolves is the deadline)
      await handle.remove({ deadline: Date.now() + 100 });
      const after = handle.stats();
      expect(after.droppedShutdown).toBeGreaterThan(0);
      expect(
        after.exported + after.droppedShutdown + after.droppedQueueFull + after.droppedExportFailed,
      ).toBe((calls + 1) * 2);
      expect(unhandled).toEqual([]);
    } finally {
      hanging.close();
    }
  });

  it("a dead endpoint (connection refused): nothing delivered, everything counted as dropped, nothing thrown", async () => {
    const calls = 2000;
    addSpanExporter(otlpExporter({ url: await deadUrl(), timeoutMillis: 300, env: {} }), {
      batch: {
        maxQueueSize: 256,
        maxExportBatchSize: 128,
        scheduledDelayMillis: 5,
        exportTimeoutMillis: 1000,
      },
    });
    expect(runCallsCountingTurns(calls, "dead")).toEqual({ completed: calls, turns: 0 });
    await flushTracing();
    await new Promise((resolve) => setTimeout(resolve, 50));
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
    // all 100 calls complete in the turn they started in: none waits for the slow backend
    expect(runCallsCountingTurns(100, "slow")).toEqual({ completed: 100, turns: 0 });
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
