import type { Logger } from "@llmux/callbacks";
import { describe, expect, it } from "vitest";
import { MemorySharedState } from "./memory-shared-state";
import type { SharedState } from "./shared-state";
import { withFallback } from "./with-fallback";

function recordingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  const logger: Logger = {
    debug: (message) => lines.push({ level: "debug", message }),
    info: (message) => lines.push({ level: "info", message }),
    warn: (message) => lines.push({ level: "warn", message }),
    error: (message) => lines.push({ level: "error", message }),
  };
  return { logger, lines };
}

/** A primary that can be switched between working, throwing and hanging (never answering). */
function switchable() {
  const inner = new MemorySharedState();
  let mode: "ok" | "throw" | "hang" = "ok";
  const proxy = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return (...args: unknown[]) => {
        if (mode === "throw") return Promise.reject(new Error("connection refused"));
        if (mode === "hang") return new Promise(() => undefined);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as SharedState;
  return { primary: proxy, inner, setMode: (next: typeof mode) => (mode = next) };
}

describe("withFallback", () => {
  it("uses the primary while it answers and mirrors writes into the local store", async () => {
    const { primary, inner } = switchable();
    const local = new MemorySharedState();
    const store = withFallback(primary, local);
    expect(await store.incrWindow("a", 2, 60_000)).toBe(2);
    await inner.incrWindow("a", 5, 60_000); // another instance's calls, only in the primary
    expect(await store.getWindow("a", 60_000)).toBe(7);
    expect(await local.getWindow("a", 60_000)).toBe(2);
    expect(store.errors).toBe(0);
    expect(store.kind).toBe("fallback(memory)");
  });

  it("falls back on errors with one warning per outage, counts errors, and recovers without restart", async () => {
    const { primary, setMode } = switchable();
    const { logger, lines } = recordingLogger();
    let now = 0;
    const errors: string[] = [];
    const store = withFallback(primary, new MemorySharedState(), {
      logger,
      retryAfterMs: 1_000,
      tripAfter: 1,
      now: () => now,
      onError: (operation) => errors.push(operation),
    });
    await store.incrWindow("a", 1, 60_000);
    setMode("throw");
    expect(await store.incrWindow("a", 1, 60_000)).toBe(2); // answered locally
    expect(store.degraded).toBe(true);
    // during retryAfterMs the primary is not tried at all
    for (let index = 0; index < 10; index++) await store.incrWindow("a", 1, 60_000);
    expect(errors).toEqual(["incrWindow"]);
    now += 1_000;
    await store.get("x"); // tried again: fails again, no second warning
    expect(errors.length).toBe(2);
    expect(lines.filter((line) => line.level === "warn").length).toBe(1);
    setMode("ok");
    now += 1_000;
    expect(await store.incrWindow("b", 1, 60_000)).toBe(1);
    expect(store.degraded).toBe(false);
    expect(lines.filter((line) => line.level === "info").length).toBe(1);
    expect(store.errors).toBe(2);
  });

  it("one late answer does not open the circuit; tripAfter failures in a row do", async () => {
    const { primary, setMode } = switchable();
    const store = withFallback(primary, new MemorySharedState(), { timeoutMs: 20 });
    setMode("hang");
    await store.get("a");
    await store.get("a");
    setMode("ok");
    await store.incrWindow("w", 1, 60_000); // the primary is still asked: two failures only
    expect(store.degraded).toBe(false);
    setMode("hang");
    for (let index = 0; index < 3; index++) await store.get("a");
    expect(store.errors).toBe(5);
    setMode("ok");
    // the circuit is open: answered locally without asking the primary
    await store.get("a");
    expect(store.degraded).toBe(true);
    // a view with a longer deadline shares the health
    expect(store.withTimeout(1_000).degraded).toBe(true);
  });

  it("a primary that never answers delays an operation by the timeout at most, then not at all", async () => {
    const { primary, setMode } = switchable();
    setMode("hang");
    const store = withFallback(primary, new MemorySharedState(), { timeoutMs: 30, tripAfter: 1 });
    const started = performance.now();
    expect(await store.tryIncrWindow("rpm", 1, 60_000, 10)).toEqual({ allowed: true, count: 1 });
    const first = performance.now() - started;
    // the deadline is a lower bound here (timers never fire early); the skip window makes the next call local
    expect(first).toBeGreaterThanOrEqual(25);
    expect(await store.tryIncrWindow("rpm", 1, 60_000, 10)).toEqual({ allowed: true, count: 2 });
    expect(store.errors).toBe(1);
    console.log(`hanging primary: first call answered locally after ${first.toFixed(1)} ms (timeout 30 ms)`);
  });

  it("takeWindow mirrors what the primary granted; alone, the local store grants within the limit", async () => {
    const { primary, setMode } = switchable();
    const local = new MemorySharedState();
    const store = withFallback(primary, local, { tripAfter: 1 });
    expect(await store.takeWindow("rpm", 4, 60_000, 10)).toEqual({ granted: 4, count: 4 });
    expect(await local.getWindow("rpm", 60_000)).toBe(4);
    setMode("throw");
    // the local store holds this instance's 4: it grants the 6 left of the limit, then nothing
    expect(await store.takeWindow("rpm", 8, 60_000, 10)).toEqual({ granted: 6, count: 10 });
    expect(await store.takeWindow("rpm", 1, 60_000, 10)).toEqual({ granted: 0, count: 10 });
  });

  it("applyDeltas rejects when the primary does not take them (error, late, or left alone), counting the error", async () => {
    const { primary, inner, setMode } = switchable();
    let now = 0;
    const store = withFallback(primary, new MemorySharedState(), {
      timeoutMs: 20,
      tripAfter: 1,
      now: () => now,
    });
    const deltas = [{ kind: "inFlight" as const, key: "d", by: 2 }];
    await store.applyDeltas(deltas);
    expect(await inner.inFlight("d")).toBe(2);
    setMode("throw");
    await expect(store.applyDeltas(deltas)).rejects.toThrow(/did not take the deltas/);
    // the circuit is open: rejected without asking
    setMode("ok");
    await expect(store.applyDeltas(deltas)).rejects.toThrow(/did not take the deltas/);
    expect(await inner.inFlight("d")).toBe(2);
    now += 1_000;
    setMode("hang");
    await expect(store.applyDeltas(deltas)).rejects.toThrow(/did not take the deltas/);
    expect(store.errors).toBe(2);
  });
});
