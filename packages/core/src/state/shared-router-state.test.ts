/**
 * Two router states (two instances) on one shared store (a MemorySharedState standing in for Redis): the
 * local snapshot answers synchronously, sync() brings in what the other did.
 */
import { describe, expect, it } from "vitest";
import { MemorySharedState } from "./memory-shared-state";
import { maxLease, SharedRouterState } from "./shared-router-state";
import type { SharedState } from "./shared-state";
import { type ManualClock, manualClock } from "./shared-state-contract";
import { withFallback } from "./with-fallback";

/** A store counting the operations it is asked for (round trips, on a networked store), and able to fail. */
function counted(inner: SharedState) {
  const calls = new Map<string, number>();
  let failing = false;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        if (failing) return Promise.reject(new Error("connection refused"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as SharedState;
  const total = () => [...calls.values()].reduce((sum, count) => sum + count, 0);
  return { store, calls, total, fail: (next: boolean) => (failing = next) };
}

function instance(clock: ManualClock, shared: SharedState, background: SharedState = shared) {
  const state = new SharedRouterState({
    deploymentIds: ["d1"],
    allowedFails: 3,
    cooldownMs: 5_000,
    clock,
    syncIntervalMs: 60_000, // the tests flush and sync themselves
  });
  state.attach(shared, background);
  return state;
}

/** A call as the router makes it: reserve, then count the request when it was allowed. */
async function call(state: SharedRouterState, clock: ManualClock, rpm: number): Promise<boolean> {
  const allowed = await state.reserveRequest("d1", rpm);
  if (allowed) state.recordRequest("d1", clock.now());
  return allowed;
}

function pair() {
  const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
  const shared = new MemorySharedState(clock);
  const cooled: Array<[string, number]> = [];
  const make = () => {
    const state = new SharedRouterState({
      deploymentIds: ["d1", "d2"],
      allowedFails: 3,
      cooldownMs: 5_000,
      clock,
      syncIntervalMs: 60_000, // the tests call sync() themselves
      onRemoteCooldown: (id, until) => cooled.push([id, until]),
    });
    state.attach(shared);
    return state;
  };
  const a = make();
  const b = make();
  const stop = () => {
    a.stop();
    b.stop();
  };
  return { a, b, clock, cooled, stop };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("SharedRouterState", () => {
  it("a cooldown set on A is respected by B after one sync, and reported once", async () => {
    const { a, b, clock, cooled, stop } = pair();
    a.setCooldown("d1", clock.now() + 5_000);
    await settle();
    expect(b.cooldownUntil("d1", clock.now())).toBeUndefined(); // not yet synced
    await b.sync();
    expect(b.cooldownUntil("d1", clock.now())).toBe(clock.now() + 5_000);
    await b.sync();
    expect(cooled).toEqual([["d1", clock.now() + 5_000]]);
    stop();
  });

  it("failures of both instances count together: the shared count cools the deployment", async () => {
    const { a, b, clock, stop } = pair();
    a.recordFailure("d2", clock.now());
    b.recordFailure("d2", clock.now());
    expect(a.recordFailure("d2", clock.now())).toBe(2); // A's own count
    await settle();
    // the third failure overall reached allowed_fails in the shared store: both learn the cooldown
    expect(a.cooldownUntil("d2", clock.now())).toBe(clock.now() + 5_000);
    await b.sync();
    expect(b.cooldownUntil("d2", clock.now())).toBe(clock.now() + 5_000);
    stop();
  });

  it("rpm reservations are exact across instances; usage and in-flight include the other's after a sync", async () => {
    const { a, b, clock, stop } = pair();
    const results: boolean[] = [];
    for (let index = 0; index < 8; index++) {
      const state = index % 2 ? a : b;
      const allowed = await state.reserveRequest("d1", 5);
      if (allowed) state.recordRequest("d1", clock.now());
      results.push(allowed);
    }
    expect(results.filter(Boolean).length).toBe(5);
    a.acquire("d2");
    a.acquire("d2");
    a.recordTokens("d2", 300, clock.now());
    await a.flush(); // A's deltas reach the store once per sync interval
    await b.sync();
    expect(b.inFlight("d2")).toBe(2);
    expect(b.usage("d2", clock.now()).tokens).toBe(300);
    expect(b.usage("d1", clock.now()).requests).toBe(5);
    a.release("d2");
    await a.flush();
    await b.sync();
    expect(b.inFlight("d2")).toBe(1);
    clock.advance(60_000);
    expect(b.usage("d1", clock.now()).requests).toBe(0); // a new minute
    stop();
  });

  it("leases: k = min(1000, rpm / 100), at least 1", () => {
    expect(maxLease(10)).toBe(1);
    expect(maxLease(199)).toBe(1);
    expect(maxLease(1_000)).toBe(10);
    expect(maxLease(60_000)).toBe(600);
    expect(maxLease(100_000_000)).toBe(1_000);
  });

  it("rpm by leases: two instances never pass the limit, leave at most N × k unused, and ask the store once per lease", async () => {
    const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
    const { store, calls } = counted(new MemorySharedState(clock));
    const a = instance(clock, store);
    const b = instance(clock, store);
    await settle(); // the first syncs
    calls.clear();
    const rpm = 1_000; // k = 10
    let allowed = 0;
    // B serves three calls for each of A's: the instances use their leases at different rates
    for (let index = 0; index < 1_500; index++) if (await call(index % 4 ? b : a, clock, rpm)) allowed++;
    expect(allowed).toBeLessThanOrEqual(rpm);
    expect(allowed).toBeGreaterThanOrEqual(rpm - 2 * maxLease(rpm));
    const takes = calls.get("takeWindow") ?? 0;
    console.log(`rpm ${rpm} over two instances: ${allowed} allowed, ${takes} leases taken`);
    // leases of 1, 2, 4, 8, then 10: about a tenth of the calls asked the store
    expect(takes).toBeLessThan(allowed / 5);
    // once refused, the rest of the minute is refused without asking
    const before = calls.get("takeWindow");
    expect(await call(a, clock, rpm)).toBe(false);
    expect(calls.get("takeWindow")).toBe(before);
    // the next minute: leases again
    clock.advance(60_000);
    expect(await call(a, clock, rpm)).toBe(true);
    a.stop();
    b.stop();
  });

  it("concurrent reservations wait for one lease instead of each asking the store", async () => {
    const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
    const { store, calls } = counted(new MemorySharedState(clock));
    const a = instance(clock, store);
    await settle();
    calls.clear();
    const results = await Promise.all(Array.from({ length: 50 }, () => a.reserveRequest("d1", 100_000)));
    expect(results.every(Boolean)).toBe(true);
    // leases of 1, 2, 4, 8, 16, 32: six round trips for 50 calls at once
    expect(calls.get("takeWindow")).toBe(6);
    expect(await store.getWindow("rpm:d1", 60_000)).toBe(63);
    a.stop();
  });

  it("deltas: calls cost no store operation; one flush writes them in one batch, seen by the other after its sync", async () => {
    const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
    const { store, calls, total } = counted(new MemorySharedState(clock));
    const a = instance(clock, store);
    const b = instance(clock, store);
    await settle();
    calls.clear();
    for (let index = 0; index < 100; index++) {
      a.acquire("d1");
      a.recordRequest("d1", clock.now());
      a.recordTokens("d1", 10, clock.now());
      if (index >= 3) a.release("d1"); // three stay in flight
    }
    await settle();
    expect(total()).toBe(0);
    expect(a.deltaStats).toMatchObject({ pendingRequests: 100, pendingTokens: 1_000, pendingInFlight: 3 });
    await a.flush();
    expect(total()).toBe(1);
    expect(calls.get("applyDeltas")).toBe(1);
    expect(a.deltaStats).toMatchObject({
      flushes: 1,
      pendingRequests: 0,
      pendingTokens: 0,
      pendingInFlight: 0,
    });
    await b.sync();
    expect(b.inFlight("d1")).toBe(3);
    expect(b.usage("d1", clock.now())).toEqual({ requests: 100, tokens: 1_000 });
    // A does not count its own writes twice
    await a.sync();
    expect(a.inFlight("d1")).toBe(3);
    expect(a.usage("d1", clock.now())).toEqual({ requests: 100, tokens: 1_000 });
    // nothing pending: a flush writes nothing
    calls.clear();
    await a.flush();
    expect(total()).toBe(0);
    a.stop();
    b.stop();
  });

  it("close writes what is pending", async () => {
    const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
    const shared = new MemorySharedState(clock);
    const a = instance(clock, shared);
    a.acquire("d1");
    a.recordTokens("d1", 42, clock.now());
    await a.close();
    expect(await shared.inFlight("deployment:d1")).toBe(1);
    expect(await shared.getWindow("tpm:d1", 60_000)).toBe(42);
    expect(a.deltaStats.pendingTokens).toBe(0);
  });

  it("during an outage the deltas are kept and written after it; counts of a minute long over are dropped and counted", async () => {
    const clock = manualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
    const inner = new MemorySharedState(clock);
    const { store, fail } = counted(inner);
    const fallback = withFallback(store, new MemorySharedState(clock), { now: clock.now });
    const a = instance(clock, fallback);
    await settle();
    fail(true);
    a.acquire("d1");
    a.acquire("d1");
    a.recordTokens("d1", 500, clock.now());
    await a.flush();
    expect(a.deltaStats).toMatchObject({
      flushes: 0,
      failedFlushes: 1,
      pendingTokens: 500,
      pendingInFlight: 2,
    });
    expect(fallback.errors).toBe(1);
    a.release("d1");
    fail(false);
    clock.advance(1_000); // past the fallback's pause
    await a.flush();
    expect(a.deltaStats).toMatchObject({ flushes: 1, pendingTokens: 0, pendingInFlight: 0 });
    expect(await inner.inFlight("deployment:d1")).toBe(1);
    expect(await inner.getWindow("tpm:d1", 60_000)).toBe(500);
    // a longer outage: what was counted two minutes ago has no window left to go to
    fail(true);
    a.recordTokens("d1", 70, clock.now());
    a.recordRequest("d1", clock.now());
    clock.advance(60_000);
    a.recordTokens("d1", 30, clock.now());
    await a.flush();
    clock.advance(60_000);
    fail(false);
    await a.flush();
    expect(a.deltaStats).toMatchObject({ droppedTokens: 70, droppedRequests: 1, pendingTokens: 0 });
    // the previous minute's 30 were written to their own window (which Redis keeps a minute longer for
    // instances whose clocks differ), not to this one
    expect(await inner.getWindow("tpm:d1", 60_000)).toBe(0);
    a.stop();
  });
});
