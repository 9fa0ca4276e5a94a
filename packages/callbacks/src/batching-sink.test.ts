import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { BatchingSinkOptions } from "./api-types";
import { BatchingSink } from "./batching-sink";
import { createCallbackEngine } from "./callback-engine";
import { makeCallEvent, recordingLogger, sleep, waitUntil } from "./test-fixtures";
import type { CallEvent } from "./types";

/** A collector on 127.0.0.1:0 that records each POSTed batch and answers with scripted statuses. */
interface Collector {
  url: string;
  batches: Array<{ items: string[]; status: number; at: number }>;
  /** Statuses for the next requests (then 200). */
  script: number[];
  /** Delay before answering, ms. */
  delayMs: number;
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function startCollector(): Promise<Collector> {
  const collector: Collector = {
    url: "",
    batches: [],
    script: [],
    delayMs: 0,
    close: async () => {},
  };
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", async () => {
      if (collector.delayMs > 0) await sleep(collector.delayMs);
      const status = collector.script.shift() ?? 200;
      collector.batches.push({ items: JSON.parse(body) as string[], status, at: performance.now() });
      response.writeHead(status, { "content-type": "application/json" });
      response.end(status === 200 ? '{"ok":true}' : '{"error":"try later"}');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  collector.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
  return collector;
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`collector answered ${status}`);
  }
}

/** The kind of sink the base is for: posts call ids as a JSON array, retries 5xx, gives up on 4xx. */
class CollectorSink extends BatchingSink<string> {
  readonly name = "collector";
  constructor(
    private readonly url: string,
    options: BatchingSinkOptions,
  ) {
    super(options);
  }
  onSuccess(event: CallEvent): void {
    this.add(event.callId);
  }
  protected async send(batch: string[]): Promise<void> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(batch),
    });
    await response.text();
    if (!response.ok) throw new HttpStatusError(response.status);
  }
  protected override isRetryable(error: unknown): boolean {
    return !(error instanceof HttpStatusError && error.status >= 400 && error.status < 500);
  }
}

const ids = (count: number, prefix = "c"): string[] =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);

describe("BatchingSink", () => {
  it("sends a batch as soon as maxBatchSize items are buffered; flush() sends the partial rest", async () => {
    const collector = await startCollector();
    const sink = new CollectorSink(collector.url, {
      maxBatchSize: 5,
      flushIntervalMs: 60_000,
      logger: recordingLogger(),
    });
    for (const id of ids(12)) sink.add(id);
    // Sent 12 items with batches of 5 and no timer due: two full batches arrive on their own.
    await waitUntil(() => collector.batches.length === 2);
    await sleep(50);
    expect(collector.batches.map((batch) => batch.items)).toEqual([
      ids(12).slice(0, 5),
      ids(12).slice(5, 10),
    ]);
    expect(sink.stats()).toMatchObject({ buffered: 2, sent: 10, dropped: 0, failed: 0 });
    await sink.flush();
    expect(collector.batches.map((batch) => batch.items)).toEqual([
      ids(12).slice(0, 5),
      ids(12).slice(5, 10),
      ids(12).slice(10),
    ]);
    expect(sink.stats()).toEqual({ buffered: 0, inFlight: 0, sent: 12, dropped: 0, failed: 0, retries: 0 });
    await sink.shutdown();
  });

  it("sends what is buffered every flushIntervalMs without any flush() call", async () => {
    const collector = await startCollector();
    const sink = new CollectorSink(collector.url, {
      maxBatchSize: 100,
      flushIntervalMs: 50,
      logger: recordingLogger(),
    });
    for (const id of ids(3)) sink.add(id);
    // Sent 3 items (below the batch size): the interval timer delivers them.
    await waitUntil(() => collector.batches.length === 1);
    expect(collector.batches[0]?.items).toEqual(ids(3));
    await sink.shutdown();
  });

  it("retries a failed batch with growing, jittered backoff, then succeeds", async () => {
    const collector = await startCollector();
    collector.script = [503, 503];
    const logger = recordingLogger();
    const sink = new CollectorSink(collector.url, {
      maxBatchSize: 10,
      flushIntervalMs: 60_000,
      maxRetries: 3,
      retryBackoffMs: 40,
      logger,
    });
    for (const id of ids(4)) sink.add(id);
    await sink.flush();
    // Sent one batch of 4; the collector answered 503, 503, 200: three posts of the same batch.
    expect(collector.batches.map((batch) => [batch.status, batch.items])).toEqual([
      [503, ids(4)],
      [503, ids(4)],
      [200, ids(4)],
    ]);
    const [first, second, third] = collector.batches.map((batch) => batch.at) as [number, number, number];
    const gaps = [second - first, third - second];
    console.log(
      `[callbacks] retry gaps with retryBackoffMs=40: ${gaps.map((gap) => gap.toFixed(0)).join(" ms, ")} ms`,
    );
    // Jitter keeps delay n within [b/2, b], b = 40·2ⁿ: at least 20 ms, then at least 40 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(sink.stats()).toMatchObject({ sent: 4, failed: 0, retries: 2 });
    expect(logger.entries).toEqual([]);
    await sink.shutdown();
  });

  it("gives up after maxRetries (or at once on a non-retryable error), counts the items as failed and logs once", async () => {
    const collector = await startCollector();
    collector.script = [500, 500, 500, 400];
    const logger = recordingLogger();
    const sink = new CollectorSink(collector.url, {
      maxBatchSize: 10,
      flushIntervalMs: 60_000,
      maxRetries: 2,
      retryBackoffMs: 5,
      logger,
    });
    for (const id of ids(3, "a")) sink.add(id);
    await sink.flush();
    // Three 500s: first try + 2 retries, then the batch is dropped.
    expect(collector.batches.map((batch) => batch.status)).toEqual([500, 500, 500]);
    for (const id of ids(2, "b")) sink.add(id);
    await sink.flush();
    // A 400 is not retried.
    expect(collector.batches.map((batch) => batch.status)).toEqual([500, 500, 500, 400]);
    expect(sink.stats()).toMatchObject({ sent: 0, failed: 5, retries: 2 });
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({
      level: "error",
      message: 'batching sink "collector" dropped a batch after 3 attempt(s)',
      fields: { items: 3, error: "collector answered 500" },
    });
    await sink.shutdown();
  });

  it("bounds its buffer: items beyond maxBufferSize are dropped and counted", async () => {
    const collector = await startCollector();
    const logger = recordingLogger();
    const sink = new CollectorSink(collector.url, {
      maxBatchSize: 100,
      maxBufferSize: 10,
      flushIntervalMs: 60_000,
      logger,
    });
    const accepted = ids(15).map((id) => sink.add(id));
    // Sent 15 items into a 10-item buffer: the first 10 accepted, 5 refused.
    expect(accepted).toEqual([...Array(10).fill(true), ...Array(5).fill(false)]);
    expect(sink.stats()).toMatchObject({ buffered: 10, dropped: 5 });
    expect(logger.entries[0]?.message).toBe('batching sink "collector" dropped items');
    await sink.flush();
    expect(collector.batches.map((batch) => batch.items)).toEqual([ids(10)]);
    await sink.shutdown();
  });

  it("shutdown() flushes everything (also items added while a batch is in flight), then refuses new items", async () => {
    const collector = await startCollector();
    collector.delayMs = 30;
    const sink = new CollectorSink(collector.url, {
      maxBatchSize: 3,
      flushIntervalMs: 60_000,
      logger: recordingLogger(),
    });
    for (const id of ids(4, "x")) sink.add(id);
    await waitUntil(() => sink.stats().inFlight === 3);
    for (const id of ids(2, "y")) sink.add(id);
    const first = sink.shutdown();
    expect(sink.shutdown()).toBe(first);
    await first;
    // Sent 4 then 2 items (one batch of 3 in flight at shutdown): all 6 arrived, in order.
    expect(collector.batches.flatMap((batch) => batch.items)).toEqual([...ids(4, "x"), ...ids(2, "y")]);
    expect(sink.add("late")).toBe(false);
    expect(sink.stats()).toMatchObject({ sent: 6, dropped: 1, buffered: 0 });
  });

  it("works as an engine sink: engine.shutdown() delivers queued events and the sink's buffer", async () => {
    const collector = await startCollector();
    const sink = new CollectorSink(collector.url, {
      maxBatchSize: 50,
      flushIntervalMs: 60_000,
      logger: recordingLogger(),
    });
    const engine = createCallbackEngine({ sinks: [sink], logger: recordingLogger() });
    for (let index = 0; index < 120; index++) engine.success(makeCallEvent({ callId: `e${index}` }));
    await engine.shutdown();
    // Sent 120 events: batches of 50, 50 and 20 reached the collector.
    expect(collector.batches.map((batch) => batch.items.length)).toEqual([50, 50, 20]);
    expect(collector.batches.flatMap((batch) => batch.items)).toEqual(ids(120, "e"));
  });
});
