/**
 * The dashboard's memory bounds: the call ring keeps the last N calls and cuts content, the per-minute
 * aggregates drop old minutes and sum names past the per-minute limit under "(other)".
 */
import type { CallEvent } from "@llmux/callbacks";
import { describe, expect, it } from "vitest";
import { CallRing } from "./call-ring";
import { percentile } from "./dashboard-data";
import { MinuteAggregates, OTHER } from "./minute-aggregates";

function call(callId: string, content: string): CallEvent {
  return {
    callId,
    callType: "chat",
    stream: false,
    modelGroup: "m",
    requestedModel: "m",
    startTime: 1_000,
    requestParams: {},
    messages: [{ role: "user", content }],
    redacted: false,
    tags: [],
    metadata: {},
    status: "success",
    usage: null,
    cost: null,
    timings: { startTime: 1_000, endTime: 1_010, durationMs: 10, upstreamMs: 9, overheadMs: 1 },
    attempts: [],
    fallbacks: 0,
  };
}

describe("CallRing", () => {
  it("keeps the last N calls, forgets the older ones by id too, and cuts long content", () => {
    const ring = new CallRing(3, 100, false);
    for (const id of ["a", "b", "c", "d"]) ring.add(call(id, id === "d" ? "x".repeat(500) : "short"));
    expect(ring.list(0, 10).map((summary) => summary.callId)).toEqual(["d", "c", "b"]);
    expect(ring.get("a")).toBeUndefined();
    expect([...ring.all()].map((detail) => detail.callId)).toEqual(["b", "c", "d"]);
    const long = ring.get("d")!;
    expect(long.truncated).toBe(true);
    expect(typeof long.messages).toBe("string");
    expect((long.messages as string).length).toBeLessThanOrEqual(101);
    expect(ring.get("c")!.messages).toEqual([{ role: "user", content: "short" }]);
    expect(ring.list(0, 2).map((summary) => summary.callId)).toEqual(["d", "c"]);
  });

  it("keeps no content at all when the gateway redacts", () => {
    const ring = new CallRing(2, 100, true);
    ring.add(call("a", "secret"));
    expect(ring.get("a")!.redacted).toBe(true);
    expect(JSON.stringify(ring.get("a"))).not.toContain("secret");
  });
});

describe("MinuteAggregates", () => {
  it("drops minutes older than the retention and sums names past the limit under (other)", () => {
    const aggregates = new MinuteAggregates(2, 2);
    const facts = { model: "m", spend: 1, tokens: 10, failed: false };
    aggregates.add({ ...facts, time: 0, user: "old" });
    aggregates.add({ ...facts, time: 60_000, user: "u1" });
    aggregates.add({ ...facts, time: 60_000, user: "u2" });
    aggregates.add({ ...facts, time: 60_000, user: "u3", failed: true });
    aggregates.add({ ...facts, time: 60_000, user: "u4" });
    // A third minute starts: the first one (retention 2) is dropped.
    aggregates.add({ ...facts, time: 120_000, user: "u1" });
    const totals = aggregates.totals("user", 0, 180_000);
    expect(totals.get("old")).toBeUndefined();
    expect(totals.get("u1")).toEqual({ spend: 2, tokens: 20, calls: 2, errors: 0 });
    expect(totals.get(OTHER)).toEqual({ spend: 2, tokens: 20, calls: 2, errors: 1 });
    const { times, series } = aggregates.series("model", 60_000, 120_000, 60_000);
    expect(times).toEqual([60_000, 120_000]);
    expect(series.get("m")!.map((value) => value.calls)).toEqual([4, 1]);
  });
});

describe("percentile", () => {
  it("is the nearest rank of sorted values, null without values", () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([10], 0.99)).toBe(10);
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.9)).toBe(90);
    expect(percentile(values, 0.99)).toBe(99);
  });
});
