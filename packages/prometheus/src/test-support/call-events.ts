/** Test helper: builds realistic callback events with only the fields a test cares about spelled out. */
import type {
  AttemptEvent,
  AttemptRecord,
  CallEvent,
  CallStartEvent,
  CooldownEvent,
  FallbackEvent,
} from "@llmux/callbacks";

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export function startEvent(overrides: Partial<CallStartEvent> & { callId: string }): CallStartEvent {
  return {
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: overrides.modelGroup ?? "gpt-4o",
    startTime: Date.now(),
    requestParams: {},
    redacted: false,
    tags: [],
    metadata: {},
    ...overrides,
  };
}

export function attempt(overrides: Partial<AttemptRecord> & { deploymentId: string }): AttemptRecord {
  const startTime = overrides.startTime ?? T0;
  const latencyMs = overrides.latencyMs ?? 100;
  return {
    index: 0,
    modelGroup: "gpt-4o",
    provider: "openai",
    model: "gpt-4o",
    startTime,
    endTime: startTime + latencyMs,
    latencyMs,
    outcome: "success",
    fallback: false,
    ...overrides,
  };
}

export function attemptEvent(callId: string, record: AttemptRecord): AttemptEvent {
  return { callId, ...record };
}

export function callEvent(
  overrides: Partial<CallEvent> & { callId: string; attempts: AttemptRecord[] },
): CallEvent {
  const last = overrides.attempts[overrides.attempts.length - 1];
  const durationMs = overrides.timings?.durationMs ?? 1000;
  const upstreamMs = overrides.timings?.upstreamMs ?? durationMs - 10;
  const event: CallEvent = {
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: overrides.modelGroup ?? "gpt-4o",
    startTime: T0,
    requestParams: {},
    redacted: false,
    tags: [],
    metadata: {},
    status: "success",
    usage: null,
    cost: null,
    fallbacks: 0,
    ...overrides,
    timings: {
      startTime: T0,
      endTime: T0 + durationMs,
      durationMs,
      upstreamMs,
      overheadMs: durationMs - upstreamMs,
      ...overrides.timings,
    },
  };
  if (last !== undefined) {
    if (event.deploymentId === undefined && last.outcome === "success")
      event.deploymentId = last.deploymentId;
    if (event.provider === undefined && last.outcome === "success") event.provider = last.provider;
  }
  return event;
}

export function fallbackEvent(overrides: Partial<FallbackEvent> & { callId: string }): FallbackEvent {
  return { time: T0, fromGroup: "gpt-4o", toGroup: "claude", reason: "rate_limit", ...overrides };
}

export function cooldownEvent(overrides: Partial<CooldownEvent> & { deploymentId: string }): CooldownEvent {
  return {
    time: Date.now(),
    modelGroup: "gpt-4o",
    provider: "openai",
    reason: "rate_limit",
    until: Date.now() + 30_000,
    ...overrides,
  };
}
