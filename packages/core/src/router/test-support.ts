import type { Deployment, RouterSettings } from "../config/types";

/** Deterministic helpers for router tests: a seeded random source, a manual clock, deployments. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  advance(milliseconds: number): void {
    this.time += milliseconds;
  }
}

export function deployment(id: string, group: string, extra: Partial<Deployment> = {}): Deployment {
  return { id, modelGroup: group, provider: "openai", model: id, order: 0, params: {}, ...extra };
}

export function settings(extra: Partial<RouterSettings> = {}): RouterSettings {
  return {
    routingStrategy: "simple-shuffle",
    numRetries: 2,
    retryPolicy: {},
    allowedFails: 3,
    cooldownTimeMs: 5_000,
    timeoutMs: 60_000,
    fallbacks: {},
    contextWindowFallbacks: {},
    contentPolicyFallbacks: {},
    defaultFallbacks: [],
    maxFallbacks: 5,
    modelGroupAlias: {},
    retryAfterFloorMs: 50,
    maxParallelWaitMs: 100,
    maxRetryWaitMs: 10_000,
    ...extra,
  };
}
