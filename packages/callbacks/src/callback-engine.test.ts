import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCallbackEngine } from "./callback-engine";
import {
  makeCallEvent,
  makeStartEvent,
  recordingLogger,
  recordingSink,
  sleep,
  waitUntil,
} from "./test-fixtures";
import type { CallbackSink, CallEvent } from "./types";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeEach(() => {
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
});
afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
  // Sent: whatever each test emitted. Came back: no unhandled rejection from any sink, ever.
  expect(unhandled).toEqual([]);
});

describe("callback engine delivery", () => {
  it("delivers asynchronously: emit returns before the sink runs", async () => {
    const sink = recordingSink("recorder");
    const engine = createCallbackEngine({ sinks: [sink], logger: recordingLogger() });
    const event = makeCallEvent();
    engine.success(event);
    // Sent one success event; nothing has reached the sink when emit returns.
    expect(sink.received).toHaveLength(0);
    await Promise.resolve();
    // Not even after a microtask turn: the drain loop starts on setImmediate.
    expect(sink.received).toHaveLength(0);
    await engine.flush();
    // After flush the very same object arrived (handed as-is, not copied).
    expect(sink.received).toEqual([{ kind: "success", event }]);
    expect(sink.received[0]?.event).toBe(event);
    expect(engine.stats()).toEqual([{ sink: "recorder", delivered: 1, dropped: 0, errors: 0, queued: 0 }]);
  });

  it("a sink taking 5 s per event does not delay emit calls; beyond its capacity events are dropped and counted", async () => {
    let released = false;
    let slowCalls = 0;
    const slow: CallbackSink = {
      name: "slow",
      queueSize: 100,
      onSuccess: async () => {
        slowCalls++;
        // 5 s per event until the test releases it (so the test does not wait 100 × 5 s at the end).
        const until = Date.now() + 5_000;
        while (!released && Date.now() < until) await sleep(10);
      },
    };
    const fast = recordingSink("fast");
    const engine = createCallbackEngine({ sinks: [slow, fast], logger: recordingLogger() });
    const events = Array.from({ length: 1000 }, (_, index) => makeCallEvent({ callId: `call-${index}` }));

    const started = performance.now();
    for (const event of events) engine.success(event);
    const elapsedMs = performance.now() - started;
    console.log(
      `[callbacks] emit of 1000 events to a 5 s/event sink + a fast sink: ${elapsedMs.toFixed(2)} ms total, ` +
        `${((elapsedMs * 1000) / events.length).toFixed(2)} µs per emit`,
    );

    // Sent 1000 events synchronously: the slow sink's queue (100) took the first 100, dropped 900.
    expect(slowCalls).toBe(0);
    let slowStats = engine.stats().find((stats) => stats.sink === "slow");
    expect(slowStats).toMatchObject({ dropped: 900, queued: 100, delivered: 0, errors: 0 });

    // The fast sink is not held back by the slow one: it gets all 1000 while the slow one is still on event 1.
    await waitUntil(() => fast.received.length === 1000);
    expect(slowCalls).toBe(1);
    expect(fast.received.map((entry) => (entry.event as CallEvent).callId)).toEqual(
      events.map((event) => event.callId),
    );

    released = true;
    await engine.flush();
    slowStats = engine.stats().find((stats) => stats.sink === "slow");
    expect(slowStats).toEqual({ sink: "slow", delivered: 100, dropped: 900, errors: 0, queued: 0 });
    expect(slowCalls).toBe(100);
  });

  it("counts throwing and rejecting sinks, logs them rate-limited, throws nothing, and other sinks still get events", async () => {
    const logger = recordingLogger();
    const throwing: CallbackSink = {
      name: "throwing",
      onSuccess: () => {
        throw new Error("boom: Authorization: Bearer sk-live-1234567890abcdef");
      },
    };
    const rejecting: CallbackSink = {
      name: "rejecting",
      onSuccess: async () => {
        await sleep(1);
        throw new Error("collector said 500");
      },
    };
    const good = recordingSink("good");
    const engine = createCallbackEngine({
      sinks: [throwing, rejecting, good],
      logger,
      errorLogIntervalMs: 10_000,
    });

    for (let index = 0; index < 20; index++) {
      expect(() => engine.success(makeCallEvent({ callId: `call-${index}` }))).not.toThrow();
    }
    await engine.flush();

    // Sent 20 events to each: every failure counted, one error log per sink in the 10 s window.
    const stats = Object.fromEntries(engine.stats().map((entry) => [entry.sink, entry]));
    expect(stats.throwing).toEqual({ sink: "throwing", delivered: 0, dropped: 0, errors: 20, queued: 0 });
    expect(stats.rejecting).toEqual({ sink: "rejecting", delivered: 0, dropped: 0, errors: 20, queued: 0 });
    expect(stats.good).toEqual({ sink: "good", delivered: 20, dropped: 0, errors: 0, queued: 0 });
    expect(good.received).toHaveLength(20);

    const errorLogs = logger.entries.filter((entry) => entry.level === "error");
    expect(errorLogs.map((entry) => entry.fields?.sink).sort()).toEqual(["rejecting", "throwing"]);
    const throwingLog = errorLogs.find((entry) => entry.fields?.sink === "throwing");
    expect(throwingLog?.message).toBe('callback sink "throwing" failed in onSuccess');
    // The logged error keeps its message but not the bearer token it carried.
    expect(throwingLog?.fields?.error).toBe("boom: Authorization: [REDACTED]");
    expect(JSON.stringify(logger.entries)).not.toContain("sk-live");
  });

  it("logs again after the interval with the number of errors suppressed since", async () => {
    const logger = recordingLogger();
    const throwing: CallbackSink = {
      name: "throwing",
      onFailure: () => {
        throw new Error("nope");
      },
    };
    const engine = createCallbackEngine({ sinks: [throwing], logger, errorLogIntervalMs: 100 });
    for (let index = 0; index < 10; index++) engine.failure(makeCallEvent({ status: "failure" }));
    await engine.flush();
    await sleep(150);
    engine.failure(makeCallEvent({ status: "failure" }));
    await engine.flush();
    // Sent 10 failing events, waited past the interval, sent 1 more: two logs, the second reports 9 suppressed.
    const errorLogs = logger.entries.filter((entry) => entry.level === "error");
    expect(errorLogs.map((entry) => [entry.fields?.suppressed, entry.fields?.errors])).toEqual([
      [0, 1],
      [9, 11],
    ]);
  });

  it("counts a handler that never settles as an error after handlerTimeoutMs and moves on", async () => {
    const logger = recordingLogger();
    const delivered: string[] = [];
    const hanging: CallbackSink = {
      name: "hanging",
      onSuccess: (event) => {
        if (event.callId === "hang") return new Promise<void>(() => {});
        delivered.push(event.callId);
      },
    };
    const engine = createCallbackEngine({ sinks: [hanging], logger, handlerTimeoutMs: 50 });
    engine.success(makeCallEvent({ callId: "hang" }));
    engine.success(makeCallEvent({ callId: "after" }));
    await engine.flush();
    // Sent a hanging event then a normal one: the first timed out (1 error), the second was delivered.
    expect(delivered).toEqual(["after"]);
    expect(engine.stats()[0]).toMatchObject({ delivered: 1, errors: 1 });
    expect(logger.entries[0]?.fields?.error).toBe("onSuccess did not settle within 50 ms");
  });

  it("keeps per-sink order across ring-buffer wrap-around", async () => {
    const seen: string[] = [];
    const sink: CallbackSink = {
      name: "small",
      queueSize: 5,
      onAttempt: async (event) => {
        await sleep(2);
        seen.push(event.callId);
      },
    };
    const engine = createCallbackEngine({ sinks: [sink], logger: recordingLogger() });
    const attempt = makeCallEvent().attempts[0]!;
    const sent: string[] = [];
    // Sent 30 attempts in waves of 3 while the sink consumes: the 5-slot ring wraps many times.
    for (let wave = 0; wave < 10; wave++) {
      for (let index = 0; index < 3; index++) {
        const callId = `c-${wave}-${index}`;
        sent.push(callId);
        engine.attempt({ ...attempt, callId });
      }
      await waitUntil(() => seen.length === sent.length);
    }
    expect(seen).toEqual(sent);
    expect(engine.stats()[0]).toMatchObject({ delivered: 30, dropped: 0 });
  });
});

describe("callback engine flush and shutdown", () => {
  it("flush() delivers everything queued, including to slow sinks, then calls each sink's flush()", async () => {
    const order: string[] = [];
    const slow: CallbackSink = {
      name: "slow",
      onSuccess: async (event) => {
        await sleep(20);
        order.push(`slow:${event.callId}`);
      },
      flush: async () => {
        order.push("slow:flush");
      },
    };
    const fast = recordingSink("fast", { flush: async () => void order.push("fast:flush") });
    const engine = createCallbackEngine({ sinks: [slow, fast], logger: recordingLogger() });
    for (let index = 0; index < 10; index++) engine.success(makeCallEvent({ callId: `c${index}` }));
    await engine.flush();
    // Sent 10 events; flush resolved after the slow sink handled all 10 and then both sink flushes ran.
    expect(order.filter((entry) => entry.startsWith("slow:c"))).toHaveLength(10);
    const lastDelivery = Math.max(...order.map((entry, index) => (entry.startsWith("slow:c") ? index : -1)));
    expect(order.indexOf("slow:flush")).toBeGreaterThan(lastDelivery);
    expect(fast.received).toHaveLength(10);
    expect(engine.stats().map((entry) => entry.queued)).toEqual([0, 0]);
  });

  it("flush() waits only for events queued before it, even while new ones keep coming", async () => {
    const seen: string[] = [];
    const sink: CallbackSink = {
      name: "busy",
      onSuccess: async (event) => {
        await sleep(5);
        seen.push(event.callId);
      },
    };
    const engine = createCallbackEngine({ sinks: [sink], logger: recordingLogger() });
    for (let index = 0; index < 5; index++) engine.success(makeCallEvent({ callId: `before-${index}` }));
    const flushed = engine.flush().then(() => [...seen]);
    let keepEmitting = true;
    void (async () => {
      for (let index = 0; keepEmitting; index++) {
        engine.success(makeCallEvent({ callId: `after-${index}` }));
        await sleep(1);
      }
    })();
    const seenAtFlush = await flushed;
    keepEmitting = false;
    // Sent 5 events, then flush, then a steady stream: flush resolved once the first 5 were handled.
    expect(seenAtFlush.slice(0, 5)).toEqual(["before-0", "before-1", "before-2", "before-3", "before-4"]);
    await engine.shutdown();
  });

  it("shutdown() delivers what is queued, then calls shutdown() on each sink; idempotent; later emits are refused", async () => {
    const order: string[] = [];
    const slow: CallbackSink = {
      name: "slow",
      onSuccess: async (event) => {
        await sleep(10);
        order.push(event.callId);
      },
      flush: async () => void order.push("flush"),
      shutdown: async () => void order.push("shutdown"),
    };
    const onlyFlush = recordingSink("only-flush", { flush: async () => void order.push("only-flush:flush") });
    const engine = createCallbackEngine({ sinks: [slow, onlyFlush], logger: recordingLogger() });
    for (let index = 0; index < 5; index++) engine.success(makeCallEvent({ callId: `c${index}` }));
    const first = engine.shutdown();
    const second = engine.shutdown();
    expect(second).toBe(first);
    await first;
    // Sent 5 events then shutdown: all 5 delivered before the sink's shutdown(); a sink without
    // shutdown() got flush() instead.
    expect(order.filter((entry) => entry !== "only-flush:flush")).toEqual([
      "c0",
      "c1",
      "c2",
      "c3",
      "c4",
      "shutdown",
    ]);
    expect(order).toContain("only-flush:flush");

    engine.success(makeCallEvent({ callId: "late" }));
    await sleep(20);
    expect(order).not.toContain("late");
    expect(engine.stats().find((entry) => entry.sink === "slow")).toMatchObject({ delivered: 5, dropped: 1 });
    expect(() => engine.add(recordingSink("too-late"))).toThrow(/shut down/);
  });

  it("a sink whose flush() or shutdown() rejects is counted and logged; flush/shutdown still resolve", async () => {
    const logger = recordingLogger();
    const sink: CallbackSink = {
      name: "broken",
      onSuccess: () => {},
      flush: async () => {
        throw new Error("flush failed");
      },
      shutdown: async () => {
        throw new Error("shutdown failed");
      },
    };
    const engine = createCallbackEngine({ sinks: [sink], logger, errorLogIntervalMs: 0 });
    engine.success(makeCallEvent());
    await expect(engine.flush()).resolves.toBeUndefined();
    await expect(engine.shutdown()).resolves.toBeUndefined();
    expect(engine.stats()[0]).toMatchObject({ delivered: 1, errors: 2 });
    expect(logger.entries.map((entry) => entry.message)).toEqual([
      'callback sink "broken" failed in flush()',
      'callback sink "broken" failed in shutdown()',
    ]);
  });
});

describe("callback engine routing", () => {
  it("sends success events only to only:'success' sinks and failure events only to only:'failure' sinks", async () => {
    const all = recordingSink("all");
    const successOnly = recordingSink("success-only", { only: "success" });
    const failureOnly = recordingSink("failure-only", { only: "failure" });
    const engine = createCallbackEngine({
      sinks: [all, successOnly, failureOnly],
      logger: recordingLogger(),
    });
    const success = makeCallEvent({ callId: "ok" });
    const failure = makeCallEvent({
      callId: "ko",
      status: "failure",
      error: { type: "rate_limit", status: 429, message: "slow down" },
    });
    engine.start(makeStartEvent({ callId: "ok" }));
    engine.attempt({ ...success.attempts[0]!, callId: "ok" });
    engine.fallback({ callId: "ko", time: 1, fromGroup: "gpt-4o", toGroup: "claude", reason: "rate_limit" });
    engine.cooldown({
      time: 1,
      modelGroup: "gpt-4o",
      deploymentId: "gpt4o-east",
      provider: "openai",
      reason: "rate_limit",
      until: 2,
    });
    engine.success(success);
    engine.failure(failure);
    await engine.flush();
    // Sent start, attempt, fallback, cooldown, success, failure.
    expect(all.received.map((entry) => entry.kind)).toEqual([
      "start",
      "attempt",
      "fallback",
      "cooldown",
      "success",
      "failure",
    ]);
    expect(successOnly.received.map((entry) => entry.kind)).toEqual(["success"]);
    expect(failureOnly.received.map((entry) => entry.kind)).toEqual(["failure"]);
  });

  it("routes stream chunks only to sinks that set wantsStreamChunks, and reports whether any does", async () => {
    const noFlag = recordingSink("no-flag");
    const engine = createCallbackEngine({ sinks: [noFlag], logger: recordingLogger() });
    // A sink with onStreamChunk but no opt-in: the core may skip building chunk events.
    expect(engine.wantsStreamChunks).toBe(false);
    const successOnlyWithFlag = recordingSink("success-only", { only: "success", wantsStreamChunks: true });
    engine.add(successOnlyWithFlag);
    expect(engine.wantsStreamChunks).toBe(false);
    const chunks = recordingSink("chunks", { wantsStreamChunks: true });
    engine.add(chunks);
    expect(engine.wantsStreamChunks).toBe(true);

    const chunk = {
      callId: "c1",
      index: 0,
      time: 1,
      chunk: { choices: [{ index: 0, delta: { content: "Hi" } }] },
    };
    engine.streamChunk(chunk);
    await engine.flush();
    // Sent one chunk: only the opted-in sink got it.
    expect(chunks.received).toEqual([{ kind: "streamChunk", event: chunk }]);
    expect(noFlag.received).toEqual([]);
    expect(successOnlyWithFlag.received).toEqual([]);
  });

  it("reports whether any sink takes attempt events (no sink, a success-only one: no; one with onAttempt: yes)", () => {
    const engine = createCallbackEngine({ logger: recordingLogger() });
    expect(engine.wantsAttempts).toBe(false);
    engine.add(recordingSink("success-only", { only: "success" }));
    expect(engine.wantsAttempts).toBe(false);
    engine.add({ name: "no-attempt-handler", onSuccess: () => undefined });
    expect(engine.wantsAttempts).toBe(false);
    engine.add(recordingSink("all"));
    expect(engine.wantsAttempts).toBe(true);
  });

  it("rejects values that are not sinks when adding, and a sink with an invalid queueSize gets the default", () => {
    const logger = recordingLogger();
    const engine = createCallbackEngine({ logger });
    expect(() => engine.add({} as CallbackSink)).toThrow(TypeError);
    engine.add({ name: "odd", queueSize: -3, onSuccess: () => {} });
    expect(logger.entries[0]?.message).toBe('callback sink "odd": invalid queueSize, using the default');
  });
});

describe("shutdown with a deadline", () => {
  it("resolves by the deadline with a sink that never settles, and logs what it did not deliver", async () => {
    const logger = recordingLogger();
    let calls = 0;
    const hung: CallbackSink = {
      name: "hung",
      onSuccess: () => {
        calls++;
        return new Promise<void>(() => undefined); // never settles
      },
    };
    const engine = createCallbackEngine({ sinks: [hung], logger, handlerTimeoutMs: 0 });
    for (let index = 0; index < 4; index++) engine.success(makeCallEvent({ callId: `c-${index}` }));
    await waitUntil(() => calls === 1);
    // without the deadline this would wait forever (the handler never settles, no handler timeout)
    await engine.shutdown({ deadline: Date.now() + 50 });
    expect(engine.stats()[0]).toMatchObject({ delivered: 0, queued: 3 });
    const line = logger.entries.find((entry) => entry.message.includes("not delivered at shutdown"));
    expect(line).toMatchObject({
      level: "error",
      message:
        'callback sink "hung": 3 queued event(s) not delivered at shutdown: the shutdown deadline came first (the sink did not finish)',
      fields: { sink: "hung", queued: 3 },
    });
  });

  it("a sink that finishes in time logs nothing", async () => {
    const logger = recordingLogger();
    const sink = recordingSink("quick");
    const engine = createCallbackEngine({ sinks: [sink], logger });
    engine.success(makeCallEvent());
    await engine.shutdown({ deadline: Date.now() + 10_000 });
    expect(sink.received).toHaveLength(1);
    expect(logger.entries).toEqual([]);
  });
});
