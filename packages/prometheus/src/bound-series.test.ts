/**
 * Bound label sets: counter increments summed in memory reach the exposition on every read, a
 * series incremented by 0 still exists, and past the cap the bindings start afresh without
 * losing a count.
 */
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BoundSeriesCache, DeferredCounter, observerOf } from "./bound-series";
import { prometheusPlugin } from "./prometheus-plugin";
import { attempt, callEvent, startEvent } from "./test-support/call-events";
import { parseExposition, sum } from "./test-support/exposition";

function counterOn(registry: Registry): { counter: Counter<string>; deferred: DeferredCounter } {
  const holder: { deferred?: DeferredCounter } = {};
  const counter = new Counter({
    name: "bound_test_total",
    help: "test",
    labelNames: ["group"],
    registers: [registry],
    collect() {
      holder.deferred?.flush();
    },
  });
  holder.deferred = new DeferredCounter(counter);
  return { counter, deferred: holder.deferred };
}

describe("bound series", () => {
  it("hands summed increments to prom-client when the counter is read, and creates series incremented by 0", async () => {
    const registry = new Registry();
    const { deferred } = counterOn(registry);
    const a = deferred.child({ group: "a" });
    const zero = deferred.child({ group: "zero" });
    a.inc();
    a.inc(2);
    zero.inc(0);
    let samples = parseExposition(await registry.metrics());
    expect(sum(samples, "bound_test_total", { group: "a" })).toBe(3);
    expect(samples.some((sample) => sample.labels["group"] === "zero")).toBe(true);
    a.inc(4);
    samples = parseExposition(await registry.metrics());
    expect(sum(samples, "bound_test_total", { group: "a" })).toBe(7);
    // nothing pending: a second read adds nothing
    samples = parseExposition(await registry.metrics());
    expect(sum(samples, "bound_test_total", { group: "a" })).toBe(7);
  });

  it("starts afresh past its cap after handing every pending increment over", async () => {
    const registry = new Registry();
    const { deferred } = counterOn(registry);
    let resets = 0;
    const cache = new BoundSeriesCache<ReturnType<DeferredCounter["child"]>>(2, () => {
      resets++;
      deferred.flush();
    });
    for (let round = 0; round < 3; round++) {
      for (const group of ["a", "b", "c", "d", "e"]) cache.get(group, () => deferred.child({ group })).inc();
      expect(cache.size).toBeLessThanOrEqual(2);
    }
    expect(resets).toBeGreaterThan(0);
    const samples = parseExposition(await registry.metrics());
    for (const group of ["a", "b", "c", "d", "e"])
      expect(sum(samples, "bound_test_total", { group })).toBe(3);
  });

  it("counts every call of a sink that sees more label sets than it binds (opt-in user labels)", async () => {
    const plugin = prometheusPlugin({ userLabels: true, maxLabelValues: 50_000 });
    const users = 10_500;
    for (let index = 0; index < users; index++) {
      const user = `user-${index}`;
      plugin.sink.onStart!(startEvent({ callId: `c${index}`, user }));
      plugin.sink.onSuccess!(
        callEvent({ callId: `c${index}`, user, attempts: [attempt({ deploymentId: "d1" })] }),
      );
    }
    const samples = parseExposition(await plugin.registry.metrics());
    expect(sum(samples, "llmux_requests_total")).toBe(users);
    expect(sum(samples, "llmux_requests_total", { user: "user-0" })).toBe(1);
    expect(sum(samples, "llmux_requests_total", { user: `user-${users - 1}` })).toBe(1);
  });

  it("a bound histogram observer gives prom-client's own exposition, through resets, removals and equal label sets", async () => {
    const bound = new Registry();
    const plain = new Registry();
    const make = (registry: Registry) =>
      new Histogram({
        name: "bound_test_seconds",
        help: "test",
        labelNames: ["group", "status"],
        buckets: [0.1, 0.5, 1, 5],
        registers: [registry],
      });
    const boundHistogram = make(bound);
    const plainHistogram = make(plain);
    const a = observerOf(boundHistogram, { group: "a", status: "200" });
    // another object with the same values: the same series
    const sameAsA = observerOf(boundHistogram, { group: "a", status: "200" });
    const b = observerOf(boundHistogram, { group: "b", status: "500" });
    const values = [0.05, 0.1, 0.3, 0.5, 0.7, 1, 2, 5, 9, 0, 1e-9, 100];
    const observeBoth = () => {
      for (const value of values) {
        a(value);
        plainHistogram.observe({ group: "a", status: "200" }, value);
        sameAsA(value / 2);
        plainHistogram.observe({ group: "a", status: "200" }, value / 2);
        b(value * 3);
        plainHistogram.observe({ group: "b", status: "500" }, value * 3);
      }
    };
    observeBoth();
    expect(await bound.metrics()).toBe(await plain.metrics());
    // the series is built by prom-client, the rest added to it: counts per bucket are exact
    const samples = parseExposition(await bound.metrics());
    expect(sum(samples, "bound_test_seconds_count", { group: "a" })).toBe(values.length * 2);
    boundHistogram.reset();
    plainHistogram.reset();
    observeBoth();
    expect(await bound.metrics()).toBe(await plain.metrics());
    boundHistogram.remove({ group: "b", status: "500" });
    plainHistogram.remove({ group: "b", status: "500" });
    observeBoth();
    expect(await bound.metrics()).toBe(await plain.metrics());
    // not a number: prom-client's own error
    expect(() => a(Number.NaN)).toThrow(TypeError);
  });

  it("a bound observer counts into prom-client's buckets exactly, with fractional, negative and default bounds and after zero()", async () => {
    const bucketSets: Array<number[] | undefined> = [
      undefined,
      [-1, 0, 0.25, 1e-7, 2.5],
      [-5, -1, 0.1],
      [0.000001, 0.3333333333333333, 1e21],
    ];
    for (const buckets of bucketSets) {
      const bound = new Registry();
      const plain = new Registry();
      const make = (registry: Registry) =>
        new Histogram({
          name: "bound_buckets_seconds",
          help: "test",
          labelNames: ["group"],
          ...(buckets === undefined ? {} : { buckets }),
          registers: [registry],
        });
      const boundHistogram = make(bound);
      const plainHistogram = make(plain);
      const observe = observerOf(boundHistogram, { group: "a" });
      const values = [-7, -1, -0, 0, 1e-7, 0.005, 0.0051, 0.1, 1 / 3, 0.25, 2.5, 7, 10, 11, 1e21, 1e300];
      const observeBoth = () => {
        for (const value of values) {
          observe(value);
          plainHistogram.observe({ group: "a" }, value);
        }
      };
      observeBoth();
      observeBoth();
      expect(await bound.metrics()).toBe(await plain.metrics());
      boundHistogram.zero({ group: "a" });
      plainHistogram.zero({ group: "a" });
      observeBoth();
      expect(await bound.metrics()).toBe(await plain.metrics());
    }
  });
});
