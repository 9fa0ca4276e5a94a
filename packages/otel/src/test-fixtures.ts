/**
 * Test helpers (not exported from the package): call events as the gateway emits them, and an
 * in-memory tracer.
 */
import type { AttemptRecord, CallEvent, CallStartEvent } from "@llmux/callbacks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export const T0 = Date.UTC(2025, 4, 1, 10, 0, 0);

export function startEvent(overrides: Partial<CallStartEvent> = {}): CallStartEvent {
  return {
    callId: "call-1",
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    startTime: T0,
    requestParams: { temperature: 0.2, max_tokens: 256, top_p: 0.9, stop: ["END"] },
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Say hello" },
    ],
    redacted: false,
    user: "alice",
    team: "search",
    session: "session-9",
    tags: ["prod", "checkout"],
    traceName: "checkout-assistant",
    metadata: { feature: "chat", experiment: { arm: "b" } },
    ...overrides,
  };
}

export function attempt(overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    index: 0,
    modelGroup: "gpt-4o",
    deploymentId: "gpt4o-east",
    provider: "openai",
    model: "gpt-4o",
    apiBase: "https://api.openai.com/v1",
    startTime: T0 + 5,
    endTime: T0 + 1835,
    latencyMs: 1830,
    outcome: "success",
    fallback: false,
    ...overrides,
  };
}

export function callEvent(
  overrides: Partial<CallEvent> = {},
  start: Partial<CallStartEvent> = {},
): CallEvent {
  return {
    ...startEvent(start),
    status: "success",
    deploymentId: "gpt4o-east",
    provider: "openai",
    apiBase: "https://api.openai.com/v1",
    responseModel: "gpt-4o-2024-08-06",
    responseId: "chatcmpl-123",
    finishReasons: ["stop"],
    usage: {
      inputTokens: 1200,
      cachedInputTokens: 200,
      cacheCreationInputTokens: 0,
      outputTokens: 350,
      reasoningTokens: 50,
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
      startTime: T0,
      firstTokenTime: T0 + 210,
      endTime: T0 + 1840,
      durationMs: 1840,
      ttftMs: 210,
      upstreamMs: 1830,
      overheadMs: 10,
    },
    attempts: [attempt()],
    fallbacks: 0,
    response: { role: "assistant", content: "Hello!" },
    ...overrides,
  };
}

/** A provider that keeps finished spans in memory (not registered globally). */
export function memoryTracing(): {
  provider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
  spans: () => ReadableSpan[];
} {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { provider, exporter, spans: () => exporter.getFinishedSpans() };
}

/** Feeds one whole call (start, attempts, end) through a tracer, as the gateway does. */
export function runCall(
  tracer: import("@llmux/callbacks").CallTracer,
  event: CallEvent,
  carrier: { traceparent?: string; tracestate?: string } = {},
): { traceId: string; spanId: string } {
  const trace = tracer.startCall(event, carrier);
  for (const record of event.attempts) {
    const attemptTrace = trace.startAttempt(record);
    attemptTrace.end(record);
  }
  trace.end(event);
  return { traceId: trace.traceId, spanId: trace.spanId };
}
