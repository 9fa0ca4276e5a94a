/**
 * Two router states (two instances) on one shared store (a MemorySharedState standing in for Redis): the
 * local snapshot answers synchronously, sync() brings in what the other did.
 */
import { describe, expect, it } from "vitest";
import { MemorySharedState } from "./memory-shared-state";
import { SharedRouterState } from "./shared-router-state";
import { manualClock } from "./shared-state-contract";

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
    await settle();
    await b.sync();
    expect(b.inFlight("d2")).toBe(2);
    expect(b.usage("d2", clock.now()).tokens).toBe(300);
    expect(b.usage("d1", clock.now()).requests).toBe(5);
    a.release("d2");
    await settle();
    await b.sync();
    expect(b.inFlight("d2")).toBe(1);
    clock.advance(60_000);
    expect(b.usage("d1", clock.now()).requests).toBe(0); // a new minute
    stop();
  });
});
