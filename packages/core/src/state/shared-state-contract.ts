import type { Clock } from "../router/router-state";
import type { SharedState } from "./shared-state";

/** The parts of a test runner the contract uses (Vitest's describe/it/expect fit), so core never imports one. */
export interface ContractTestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
  afterEach(body: () => Promise<void> | void): void;
  expect(actual: unknown): {
    toBe(expected: unknown): void;
    toEqual(expected: unknown): void;
    toBeCloseTo(expected: number, digits?: number): void;
  };
}

/** A clock the contract moves by hand; start it near the real time (networked stores expire keys in real time). */
export interface ManualClock extends Clock {
  advance(milliseconds: number): void;
}

export function manualClock(start = Date.now()): ManualClock {
  let now = start;
  return {
    now: () => now,
    advance: (milliseconds) => {
      now += milliseconds;
    },
  };
}

/**
 * The behaviour every SharedState implementation must have (after Keyv's test suite). Each store package
 * runs it against its own store: `sharedStateContract("redis", (clock) => createStore(clock), api)`.
 * The factory receives the clock to use and must give each call a fresh, empty namespace.
 */
export function sharedStateContract(
  name: string,
  factory: (clock: ManualClock) => SharedState | Promise<SharedState>,
  api: ContractTestApi,
): void {
  const { describe, it, expect, afterEach } = api;
  const opened: SharedState[] = [];
  const open = async () => {
    // A window boundary in the middle of a test would reset its counters: start just after one.
    const clock = manualClock(Math.floor(Date.now() / 600_000) * 600_000 + 600_000 + 1);
    const store = await factory(clock);
    opened.push(store);
    return { store, clock };
  };
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  });

  describe(`SharedState contract: ${name}`, () => {
    it("incrWindow counts within a window, per key, and starts again in the next window", async () => {
      const { store, clock } = await open();
      expect(await store.incrWindow("a", 1, 60_000)).toBe(1);
      expect(await store.incrWindow("a", 4, 60_000)).toBe(5);
      expect(await store.incrWindow("b", 2, 60_000)).toBe(2);
      expect(await store.getWindow("a", 60_000)).toBe(5);
      expect(await store.getWindow("never", 60_000)).toBe(0);
      // the same key with another window length is another counter
      expect(await store.getWindow("a", 1_000)).toBe(0);
      clock.advance(60_000);
      expect(await store.getWindow("a", 60_000)).toBe(0);
      expect(await store.incrWindow("a", 1, 60_000)).toBe(1);
    });

    it("incrWindow is atomic under concurrent calls", async () => {
      const { store } = await open();
      const results = await Promise.all(Array.from({ length: 50 }, () => store.incrWindow("c", 1, 60_000)));
      expect(await store.getWindow("c", 60_000)).toBe(50);
      expect(new Set(results).size).toBe(50);
    });

    it("tryIncrWindow lets exactly the limit through, even when the calls race", async () => {
      const { store, clock } = await open();
      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.tryIncrWindow("rpm", 1, 60_000, 10)),
      );
      expect(results.filter((result) => result.allowed).length).toBe(10);
      expect(await store.getWindow("rpm", 60_000)).toBe(10);
      expect(await store.tryIncrWindow("rpm", 1, 60_000, 10)).toEqual({ allowed: false, count: 10 });
      // tokens: a request that would cross the limit is refused whole
      expect(await store.tryIncrWindow("tpm", 70, 60_000, 100)).toEqual({ allowed: true, count: 70 });
      expect(await store.tryIncrWindow("tpm", 40, 60_000, 100)).toEqual({ allowed: false, count: 70 });
      clock.advance(60_000);
      expect(await store.tryIncrWindow("rpm", 1, 60_000, 10)).toEqual({ allowed: true, count: 1 });
    });

    it("takeWindow (when present) grants up to max, only what fits within the limit, even when racing", async () => {
      const { store, clock } = await open();
      if (!store.takeWindow) return;
      expect(await store.takeWindow("lease", 4, 60_000, 10)).toEqual({ granted: 4, count: 4 });
      const raced = await Promise.all(
        Array.from({ length: 10 }, () => store.takeWindow!("lease", 3, 60_000, 10)),
      );
      // 6 were left: granted in leases of 3 (and 0 once full), never more in total
      expect(raced.reduce((sum, result) => sum + result.granted, 0)).toBe(6);
      expect(await store.getWindow("lease", 60_000)).toBe(10);
      expect(await store.takeWindow("lease", 3, 60_000, 10)).toEqual({ granted: 0, count: 10 });
      // what is left is granted whole when smaller than max
      await store.incrWindow("partial", 8, 60_000);
      expect(await store.takeWindow("partial", 5, 60_000, 10)).toEqual({ granted: 2, count: 10 });
      clock.advance(60_000);
      expect(await store.takeWindow("lease", 4, 60_000, 10)).toEqual({ granted: 4, count: 4 });
    });

    it("applyDeltas (when present) adds window and in-flight counts in one batch, in-flight never below 0", async () => {
      const { store, clock } = await open();
      if (!store.applyDeltas) return;
      const now = clock.now();
      await store.acquire("slots");
      await store.applyDeltas([
        { kind: "window", key: "rpm", by: 3, windowMs: 60_000, at: now },
        { kind: "window", key: "tpm", by: 1_500, windowMs: 60_000, at: now },
        { kind: "window", key: "rpm", by: 2, windowMs: 60_000, at: now },
        { kind: "inFlight", key: "slots", by: 2, ttlMs: 60_000 },
      ]);
      expect(await store.getWindow("rpm", 60_000)).toBe(5);
      expect(await store.getWindow("tpm", 60_000)).toBe(1_500);
      expect(await store.inFlight("slots")).toBe(3);
      await store.applyDeltas([{ kind: "inFlight", key: "slots", by: -5, ttlMs: 60_000 }]);
      expect(await store.inFlight("slots")).toBe(0);
      // a delta of the previous window does not count in the current one
      await store.applyDeltas([{ kind: "window", key: "rpm", by: 7, windowMs: 60_000, at: now - 60_000 }]);
      expect(await store.getWindow("rpm", 60_000)).toBe(5);
      await store.applyDeltas([]);
    });

    it("plain counters add fractions (spend), read, set and delete", async () => {
      const { store } = await open();
      await store.incr("spend", 0.25);
      expect(await store.incr("spend", 0.125)).toBeCloseTo(0.375, 9);
      expect(await store.get("spend")).toBeCloseTo(0.375, 9);
      expect(await store.get("absent")).toBe(0);
      await store.set("other", 7, 60_000);
      expect(await store.getMany(["spend", "absent", "other"])).toEqual([0.375, 0, 7]);
      await store.delete("spend");
      expect(await store.get("spend")).toBe(0);
      const many = await Promise.all(Array.from({ length: 40 }, () => store.incr("race", 0.5)));
      expect(Math.max(...many)).toBe(20);
      expect(await store.get("race")).toBe(20);
    });

    it("acquire and release count calls in flight, with an optional limit, never below zero", async () => {
      const { store } = await open();
      expect(await store.acquire("d1")).toEqual({ allowed: true, count: 1 });
      expect(await store.acquire("d1", { limit: 2, ttlMs: 60_000 })).toEqual({ allowed: true, count: 2 });
      expect(await store.acquire("d1", { limit: 2 })).toEqual({ allowed: false, count: 2 });
      expect(await store.inFlight("d1")).toBe(2);
      expect(await store.release("d1")).toBe(1);
      expect(await store.release("d1")).toBe(0);
      expect(await store.release("d1")).toBe(0);
      expect(await store.inFlight("d1")).toBe(0);
      expect(await store.inFlight("unknown")).toBe(0);
      const raced = await Promise.all(
        Array.from({ length: 12 }, () => store.acquire("d2", { limit: 5, ttlMs: 60_000 })),
      );
      expect(raced.filter((result) => result.allowed).length).toBe(5);
    });

    it("recordFailure counts failures in the window and cools down at allowedFails, atomically", async () => {
      const { store, clock } = await open();
      const policy = { windowMs: 60_000, allowedFails: 3, cooldownMs: 5_000 };
      expect(await store.recordFailure("dep", policy)).toEqual({ failures: 1 });
      clock.advance(61_000);
      // the first failure left the window
      expect(await store.recordFailure("dep", policy)).toEqual({ failures: 1 });
      expect(await store.recordFailure("dep", policy)).toEqual({ failures: 2 });
      const third = await store.recordFailure("dep", policy);
      expect(third).toEqual({ failures: 3, cooldownUntil: clock.now() + 5_000 });
      expect(await store.getCooldowns(["dep", "other"])).toEqual(new Map([["dep", clock.now() + 5_000]]));
      // the cooldown cleared the failures
      expect(await store.recordFailure("dep", { windowMs: 60_000 })).toEqual({ failures: 1 });
      clock.advance(5_000);
      expect((await store.getCooldowns(["dep"])).size).toBe(0);
    });

    it("recordFailure without a policy only counts; concurrent failures are all counted", async () => {
      const { store } = await open();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.recordFailure("x", { windowMs: 60_000 })),
      );
      expect(Math.max(...results.map((result) => result.failures))).toBe(20);
      const cooled = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.recordFailure("y", { windowMs: 60_000, allowedFails: 4, cooldownMs: 1_000 }),
        ),
      );
      // exactly one call reached the threshold and set the cooldown; the failures started again after it
      expect(cooled.filter((result) => result.failures === 4 && result.cooldownUntil).length).toBe(2);
    });

    it("setCooldown: a later until wins, an earlier one does not shorten it, an expired one is gone", async () => {
      const { store, clock } = await open();
      const now = clock.now();
      await store.setCooldown("a", now + 10_000);
      await store.setCooldown("a", now + 2_000);
      await store.setCooldown("b", now + 1_000);
      expect(await store.getCooldowns(["a", "b", "c"])).toEqual(
        new Map([
          ["a", now + 10_000],
          ["b", now + 1_000],
        ]),
      );
      clock.advance(1_000);
      expect(await store.getCooldowns(["a", "b"])).toEqual(new Map([["a", now + 10_000]]));
      await store.setCooldown("c", now);
      expect((await store.getCooldowns(["c"])).size).toBe(0);
    });
  });
}
