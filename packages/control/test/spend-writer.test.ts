/**
 * The spend writer's pending counts when the buffer overflows while a batch is being written: a row
 * dropped from the buffer (no longer pending) that its batch then commits is reported to the cache
 * (in its batch's sum per key) once, and never taken off the pending count a second time (which would hide the spend of rows still
 * buffered from the budget check).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { REQUEST_ID, type SpendEntry, toSpendEntry } from "../src/spend/spend-entry";
import { SpendWriter } from "../src/spend/spend-writer";
import type { ControlStore } from "../src/store/control-store";

function row(requestId: string, spend: number): SpendEntry {
  return toSpendEntry({
    request_id: requestId,
    call_type: "chat",
    api_key: "key-hash",
    key_alias: null,
    user_id: null,
    team_id: null,
    end_user: null,
    model: "gpt-4o",
    model_group: "gpt-4o",
    model_id: null,
    custom_llm_provider: null,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    spend,
    status: "success",
    duration_ms: 1,
    start_ms: 0,
    end_ms: 0,
    session_id: null,
    request_tags: [],
    metadata: {},
  });
}

/** A store whose every statement takes 10 ms (of fake time), with the size of each batch it was given. */
function slowStore(): { batches: number[]; store: ControlStore } {
  const batches: number[] = [];
  const store = {
    writeSpend: (batch: { rows: SpendEntry[] }) => {
      batches.push(batch.rows.length);
      return new Promise<void>((resolve) => setTimeout(resolve, 10));
    },
  } as unknown as ControlStore;
  return { batches, store };
}

describe("SpendWriter", () => {
  it("a row dropped while its batch is written is reported committed once and leaves pending once", async () => {
    let release = () => {};
    const written: string[] = [];
    const store = {
      writeSpend: (batch: { rows: SpendEntry[] }) =>
        new Promise<void>((resolve) => {
          written.push(...batch.rows.map((entry) => entry[REQUEST_ID]));
          release = resolve;
        }),
    } as unknown as ControlStore;
    const committed: number[] = [];
    const writer = new SpendWriter(store, {
      batchSize: 2,
      maxBuffered: 2,
      flushIntervalMs: 3_600_000,
      onCommitted: (_kind, _id, amount) => committed.push(amount),
    });
    writer.add(row("a", 1));
    writer.add(row("b", 2));
    const flushing = writer.flush(); // batch [a, b], held by the store
    await Promise.resolve();
    expect(written).toEqual(["a", "b"]);
    writer.add(row("c", 4)); // the buffer is full: "a" is dropped (counted), "c" is pending
    expect(writer.stats().dropped).toBe(1);
    expect(writer.pending("key", "key-hash")).toBe(6);
    release(); // the batch [a, b] commits
    await new Promise((resolve) => setImmediate(resolve));
    expect(committed).toEqual([3]); // the batch's spend, once per key
    expect(writer.pending("key", "key-hash")).toBe(4); // "c" is still pending
    release();
    await flushing;
    expect(writer.pending("key", "key-hash")).toBe(0);
    await writer.close();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes once per interval under steady load: rows that come in during a write wait for the next tick", async () => {
    vi.useFakeTimers();
    // Each statement takes 10 ms; a row arrives every millisecond; the writer ticks every 50 ms.
    const { batches, store } = slowStore();
    const writer = new SpendWriter(store, { flushIntervalMs: 50 });
    for (let index = 0; index < 1_000; index++) {
      writer.add(row(`call-${index}`, 0.001));
      await vi.advanceTimersByTimeAsync(1);
    }
    // 1 000 ms: 20 ticks, one statement each, each with the ~50 rows of its interval. Writing until the
    // buffer was empty made ~90 statements of ~10 rows (the rows of the previous statement's 10 ms).
    expect(batches.length).toBeGreaterThanOrEqual(19);
    expect(batches.length).toBeLessThanOrEqual(20);
    for (const size of batches.slice(1)) expect(size).toBeGreaterThanOrEqual(45);
    const flushing = writer.flush(); // what came in after the last tick
    await vi.advanceTimersByTimeAsync(20);
    await flushing;
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(1_000);
    expect(writer.stats()).toMatchObject({ buffered: 0, written: 1_000, dropped: 0, errors: 0 });
    await writer.close();
  });

  it("a tick keeps writing while a full batch is waiting", async () => {
    vi.useFakeTimers();
    const { batches, store } = slowStore();
    const writer = new SpendWriter(store, { flushIntervalMs: 1_000, batchSize: 100 });
    for (let index = 0; index < 250; index++) writer.add(row(`call-${index}`, 0.001));
    // the 100th row started a write of a full batch at once; the next full batch follows it without
    // waiting for the interval, the last 50 rows wait for the tick
    await vi.advanceTimersByTimeAsync(25);
    expect(batches).toEqual([100, 100]);
    expect(writer.stats().buffered).toBe(50);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(batches).toEqual([100, 100, 50]);
    await writer.close();
  });

  it("flush writes what was buffered when it was called, and returns under steady load", async () => {
    vi.useFakeTimers();
    const { batches, store } = slowStore();
    const writer = new SpendWriter(store, { flushIntervalMs: 3_600_000 });
    for (let index = 0; index < 30; index++) writer.add(row(`call-${index}`, 0.001));
    let flushed = false;
    const flushing = writer.flush().then(() => {
      flushed = true;
    });
    // a row every millisecond while the flush runs: it must not wait for a moment without rows
    for (let index = 30; index < 100 && !flushed; index++) {
      writer.add(row(`call-${index}`, 0.001));
      await vi.advanceTimersByTimeAsync(1);
    }
    await flushing;
    expect(flushed).toBe(true);
    expect(batches[0]).toBe(30);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBeGreaterThanOrEqual(30);
    expect(writer.stats().buffered).toBeGreaterThan(0); // the rows that came in during it wait
    const closing = writer.close(); // close writes everything
    await vi.advanceTimersByTimeAsync(50);
    await closing;
    expect(writer.stats().buffered).toBe(0);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(writer.stats().written);
  });
});
