import { describe, expect, it } from "vitest";
import { MemoryRouterState } from "../router-state";
import { deployment, seededRandom } from "../test-support";
import { costBased } from "./cost-based";
import { latencyBased } from "./latency-based";
import { leastBusy } from "./least-busy";
import { simpleShuffle } from "./simple-shuffle";
import type { StrategyContext } from "./types";
import { usageBased } from "./usage-based";

function context(extra: Partial<StrategyContext> = {}): StrategyContext {
  return {
    state: new MemoryRouterState(),
    now: 1_700_000_000_000,
    random: seededRandom(42),
    stream: false,
    estimatedInputTokens: 100,
    estimatedOutputTokens: 100,
    expectedCost: () => null,
    ...extra,
  };
}

function shares(pick: () => string, picks: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let index = 0; index < picks; index++) {
    const id = pick();
    counts[id] = (counts[id] ?? 0) + 1;
  }
  for (const key of Object.keys(counts)) counts[key] = counts[key]! / picks;
  return counts;
}

describe("simple-shuffle", () => {
  it("weights 1:3 give 25% / 75% (±2 points over 20 000 seeded picks)", () => {
    const candidates = [deployment("a", "g", { weight: 1 }), deployment("b", "g", { weight: 3 })];
    const shared = context();
    const result = shares(() => simpleShuffle(candidates, shared).id, 20_000);
    expect(result.a).toBeGreaterThan(0.23);
    expect(result.a).toBeLessThan(0.27);
    expect(result.b).toBeGreaterThan(0.73);
    expect(result.b).toBeLessThan(0.77);
  });

  it("a deployment without a weight counts as 1, never 0 (LiteLLM's zero-weight bug)", () => {
    const candidates = [deployment("a", "g", { weight: 2 }), deployment("b", "g"), deployment("c", "g")];
    const shared = context();
    const result = shares(() => simpleShuffle(candidates, shared).id, 20_000);
    expect(result.a).toBeGreaterThan(0.47);
    expect(result.b).toBeGreaterThan(0.22);
    expect(result.c).toBeGreaterThan(0.22);
  });

  it("falls back to rpm, then tpm, then uniform", () => {
    const byRpm = [deployment("a", "g", { rpm: 100 }), deployment("b", "g", { rpm: 300 })];
    const shared = context();
    expect(shares(() => simpleShuffle(byRpm, shared).id, 20_000).a).toBeCloseTo(0.25, 1);
    const uniform = [deployment("a", "g"), deployment("b", "g"), deployment("c", "g"), deployment("d", "g")];
    const result = shares(() => simpleShuffle(uniform, shared).id, 20_000);
    for (const id of ["a", "b", "c", "d"]) expect(result[id]).toBeCloseTo(0.25, 1);
  });
});

describe("least-busy", () => {
  it("picks the deployment with the fewest calls in flight", () => {
    const shared = context();
    const candidates = [deployment("a", "g"), deployment("b", "g"), deployment("c", "g")];
    shared.state.acquire("a");
    shared.state.acquire("a");
    shared.state.acquire("b");
    shared.state.acquire("c");
    shared.state.acquire("c");
    for (let index = 0; index < 100; index++) expect(leastBusy(candidates, shared).id).toBe("b");
  });
});

describe("latency-based-routing", () => {
  it("probes deployments without samples first", () => {
    const shared = context();
    shared.state.recordLatency("a", "latency", 100);
    const candidates = [deployment("a", "g"), deployment("b", "g")];
    expect(latencyBased()(candidates, shared).id).toBe("b");
  });

  it("picks the lowest moving average; near-equals within the buffer share load", () => {
    const shared = context();
    for (const sample of [100, 110, 90]) shared.state.recordLatency("fast", "latency", sample);
    for (const sample of [105, 100, 95]) shared.state.recordLatency("close", "latency", sample);
    for (const sample of [400, 500]) shared.state.recordLatency("slow", "latency", sample);
    const candidates = [deployment("fast", "g"), deployment("close", "g"), deployment("slow", "g")];
    const result = shares(() => latencyBased({ buffer: 0.1 })(candidates, shared).id, 2_000);
    expect(result.slow ?? 0).toBe(0);
    expect(result.fast).toBeGreaterThan(0.4);
    expect(result.close).toBeGreaterThan(0.4);
    // without a buffer only the strictly fastest wins
    for (const sample of [80, 80, 80]) shared.state.recordLatency("fast", "latency", sample);
    expect(shares(() => latencyBased({ buffer: 0 })(candidates, shared).id, 200).fast).toBe(1);
  });

  it("uses time to first token for streams", () => {
    const shared = context({ stream: true });
    shared.state.recordLatency("a", "latency", 5000);
    shared.state.recordLatency("a", "ttft", 50);
    shared.state.recordLatency("b", "latency", 100);
    shared.state.recordLatency("b", "ttft", 90);
    expect(latencyBased({ buffer: 0 })([deployment("a", "g"), deployment("b", "g")], shared).id).toBe("a");
  });
});

describe("usage-based-routing", () => {
  it("picks the lowest share of its limit used this minute", () => {
    const shared = context();
    shared.state.recordTokens("a", 9_000, shared.now);
    shared.state.recordTokens("b", 9_000, shared.now);
    const candidates = [deployment("a", "g", { tpm: 10_000 }), deployment("b", "g", { tpm: 100_000 })];
    expect(usageBased(candidates, shared).id).toBe("b");
  });
});

describe("cost-based-routing", () => {
  it("picks the cheapest expected cost; unpriced last", () => {
    const costs: Record<string, number | null> = { a: 0.002, b: 0.0005, c: null };
    const shared = context({ expectedCost: (candidate) => costs[candidate.id] ?? null });
    const candidates = [deployment("a", "g"), deployment("b", "g"), deployment("c", "g")];
    expect(costBased(candidates, shared).id).toBe("b");
  });
});
