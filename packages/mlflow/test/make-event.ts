/** Test-only CallEvent builder (the one event per call of SPEC §4). */
import type { CallEvent } from "../src/contracts";

let sequence = 0;

export function makeCallEvent(overrides: Partial<CallEvent> = {}): CallEvent {
  sequence++;
  const startTime = 1_760_000_000_000 + sequence * 1000;
  return {
    callId: `call-${sequence}`,
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    startTime,
    requestParams: { temperature: 0 },
    messages: [{ role: "user", content: "secret prompt text" }],
    redacted: false,
    tags: [],
    metadata: {},
    status: "success",
    deploymentId: "gpt4o-east",
    provider: "openai",
    responseModel: "gpt-4o-2024-08-06",
    responseId: "chatcmpl-1",
    usage: {
      inputTokens: 100,
      cachedInputTokens: 40,
      cacheCreationInputTokens: 0,
      outputTokens: 20,
      reasoningTokens: 0,
      totalTokens: 120,
    },
    cost: {
      input: 0.00015,
      output: 0.0002,
      cacheRead: 0.00005,
      cacheCreation: 0,
      total: 0.0004,
      currency: "USD",
    },
    timings: { startTime, endTime: startTime + 250, durationMs: 250, upstreamMs: 240, overheadMs: 10 },
    attempts: [
      {
        index: 0,
        modelGroup: "gpt-4o",
        deploymentId: "gpt4o-east",
        provider: "openai",
        model: "gpt-4o",
        startTime: startTime + 5,
        endTime: startTime + 245,
        latencyMs: 240,
        outcome: "success",
        fallback: false,
      },
    ],
    fallbacks: 0,
    response: { role: "assistant", content: "secret answer text" },
    user: "user-7",
    team: "team-blue",
    ...overrides,
  };
}
