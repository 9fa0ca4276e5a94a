/**
 * Test helpers (not exported from the package): sample events, a recording logger and sink.
 */
import type { CallbackSink, CallEvent, CallStartEvent, Logger } from "./types";

export function makeStartEvent(overrides: Partial<CallStartEvent> = {}): CallStartEvent {
  return {
    callId: "call-1",
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    startTime: Date.UTC(2025, 4, 1, 10, 0, 0),
    requestParams: { temperature: 0.2, max_tokens: 256 },
    messages: [{ role: "user", content: "Say hello" }],
    redacted: false,
    user: "alice",
    team: "search",
    session: "session-9",
    tags: ["prod"],
    metadata: { feature: "chat" },
    ...overrides,
  };
}

export function makeCallEvent(overrides: Partial<CallEvent> = {}): CallEvent {
  const start = makeStartEvent();
  return {
    ...start,
    status: "success",
    deploymentId: "gpt4o-east",
    provider: "openai",
    apiBase: "https://api.openai.com",
    responseModel: "gpt-4o-2024-08-06",
    responseId: "chatcmpl-123",
    finishReasons: ["stop"],
    usage: {
      inputTokens: 1200,
      cachedInputTokens: 200,
      cacheCreationInputTokens: 0,
      outputTokens: 350,
      reasoningTokens: 0,
      totalTokens: 1550,
    },
    cost: {
      input: 0.0025,
      output: 0.0035,
      cacheRead: 0.00025,
      cacheCreation: 0,
      total: 0.00625,
      currency: "USD",
    },
    timings: {
      startTime: start.startTime,
      firstTokenTime: start.startTime + 210,
      endTime: start.startTime + 1840,
      durationMs: 1840,
      ttftMs: 210,
      upstreamMs: 1830,
      overheadMs: 10,
    },
    attempts: [
      {
        index: 0,
        modelGroup: "gpt-4o",
        deploymentId: "gpt4o-east",
        provider: "openai",
        model: "gpt-4o",
        apiBase: "https://api.openai.com",
        startTime: start.startTime + 5,
        endTime: start.startTime + 1835,
        latencyMs: 1830,
        outcome: "success",
        fallback: false,
      },
    ],
    fallbacks: 0,
    response: { role: "assistant", content: "Hello!" },
    ...overrides,
  };
}

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields?: Record<string, unknown>;
}

export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const record =
    (level: LogEntry["level"]) =>
    (message: string, fields?: Record<string, unknown>): void => {
      entries.push({ level, message, fields });
    };
  return {
    entries,
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Polls until `condition()` holds (or fails the test after `timeoutMs`). */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** A sink that records the kind and call id of every event it gets. */
export function recordingSink(
  name: string,
  extra: Partial<CallbackSink> = {},
): CallbackSink & { received: Array<{ kind: string; event: unknown }> } {
  const received: Array<{ kind: string; event: unknown }> = [];
  const record = (kind: string) => (event: unknown) => {
    received.push({ kind, event });
  };
  return {
    name,
    received,
    onStart: record("start"),
    onSuccess: record("success"),
    onFailure: record("failure"),
    onStreamChunk: record("streamChunk"),
    onAttempt: record("attempt"),
    onFallback: record("fallback"),
    onCooldown: record("cooldown"),
    ...extra,
  };
}
