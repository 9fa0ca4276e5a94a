/**
 * createCallTracer against an in-memory exporter: what span a call produces, attribute by
 * attribute, for plain, streamed, failed, fallback, nested, traceparent and redacted calls.
 */
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as A from "./attributes";
import { createCallTracer, RecentCalls } from "./call-tracer";
import { attempt, callEvent, memoryTracing, runCall, T0 } from "./test-fixtures";

beforeAll(() => {
  // The host's context manager (what the host's SDK registers); needed for context.with nesting.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

function byName(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((item) => item.name === name);
  if (!span) throw new Error(`no span named ${name}; got ${spans.map((item) => item.name).join(", ")}`);
  return span;
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

describe("createCallTracer", () => {
  it("names langfuse.trace.metadata.<key> right for every key, the same key again and keys too long to be kept", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test"), captureContent: false });
    const long = `k${"x".repeat(200)}`;
    // Sent: three calls, the first two with the same short key, the third with a 201-character key.
    runCall(tracer, callEvent({}, { callId: "a", metadata: { user_api_key_alias: "one" } }));
    runCall(tracer, callEvent({}, { callId: "b", metadata: { user_api_key_alias: "two" } }));
    runCall(tracer, callEvent({}, { callId: "c", metadata: { [long]: "three" } }));
    const calls = memory.spans().filter((span) => span.name === "chat gpt-4o");
    expect(calls.map((span) => span.attributes["langfuse.trace.metadata.user_api_key_alias"])).toEqual([
      "one",
      "two",
      undefined,
    ]);
    expect(calls[2]!.attributes[`langfuse.trace.metadata.${long}`]).toBe("three");
  });

  it("a plain chat call: one CLIENT 'chat gpt-4o' span with GenAI, Langfuse and MLflow attributes", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({
      tracer: memory.provider.getTracer("test"),
      captureContent: true,
      environment: "staging",
      release: "v1.2.3",
    });
    const event = callEvent();
    const ids = runCall(tracer, event);

    const spans = memory.spans();
    expect(spans.map((span) => span.name).sort()).toEqual(["attempt gpt4o-east", "chat gpt-4o"]);
    const call = byName(spans, "chat gpt-4o");
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.spanContext().traceId).toBe(ids.traceId);
    expect(call.spanContext().spanId).toBe(ids.spanId);
    expect(call.startTime).toEqual([Math.floor(T0 / 1000), 0]);
    expect(call.endTime).toEqual([Math.floor((T0 + 1840) / 1000), 840_000_000]);
    expect(call.status.code).toBe(SpanStatusCode.OK);
    const attributes = call.attributes;
    expect(attributes).toMatchObject({
      [A.GEN_AI_OPERATION_NAME]: "chat",
      [A.GEN_AI_PROVIDER_NAME]: "openai",
      [A.GEN_AI_REQUEST_MODEL]: "gpt-4o",
      [A.GEN_AI_REQUEST_TEMPERATURE]: 0.2,
      [A.GEN_AI_REQUEST_TOP_P]: 0.9,
      [A.GEN_AI_REQUEST_MAX_TOKENS]: 256,
      [A.GEN_AI_REQUEST_STOP_SEQUENCES]: ["END"],
      [A.GEN_AI_REQUEST_STREAM]: false,
      [A.GEN_AI_RESPONSE_ID]: "chatcmpl-123",
      [A.GEN_AI_RESPONSE_MODEL]: "gpt-4o-2024-08-06",
      [A.GEN_AI_RESPONSE_FINISH_REASONS]: ["stop"],
      [A.GEN_AI_USAGE_INPUT_TOKENS]: 1200,
      [A.GEN_AI_USAGE_OUTPUT_TOKENS]: 350,
      [A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 200,
      [A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: 50,
      [A.GEN_AI_CONVERSATION_ID]: "session-9",
      [A.SERVER_ADDRESS]: "api.openai.com",
      [A.SERVER_PORT]: 443,
      [A.USER_ID]: "alice",
      [A.SESSION_ID]: "session-9",
      [A.LANGFUSE_OBSERVATION_TYPE]: "generation",
      [A.LANGFUSE_OBSERVATION_MODEL_NAME]: "gpt-4o-2024-08-06",
      [A.LANGFUSE_OBSERVATION_COMPLETION_START_TIME]: new Date(T0 + 210).toISOString(),
      [A.LANGFUSE_TRACE_TAGS]: ["prod", "checkout"],
      [A.LANGFUSE_TRACE_NAME]: "checkout-assistant",
      [A.LANGFUSE_ENVIRONMENT]: "staging",
      [A.LANGFUSE_RELEASE]: "v1.2.3",
      "langfuse.trace.metadata.feature": "chat",
      "langfuse.trace.metadata.experiment": '{"arm":"b"}',
      "langfuse.trace.metadata.team": "search",
      [A.MLFLOW_SPAN_TYPE]: "CHAT_MODEL",
      [A.LLMUX_CALL_ID]: "call-1",
      [A.LLMUX_MODEL_GROUP]: "gpt-4o",
      [A.LLMUX_DEPLOYMENT_ID]: "gpt4o-east",
      [A.LLMUX_ATTEMPTS]: 1,
      [A.LLMUX_FALLBACKS]: 0,
      [A.LLMUX_COST_USD]: 0.00625,
    });
    // Langfuse usage types are additive: 1000 uncached + 200 cache reads = 1200 input;
    // 300 visible + 50 reasoning = 350 output.
    expect(JSON.parse(String(attributes[A.LANGFUSE_OBSERVATION_USAGE_DETAILS]))).toEqual({
      input: 1000,
      cache_read_input_tokens: 200,
      output: 300,
      output_reasoning_tokens: 50,
      total: 1550,
    });
    expect(JSON.parse(String(attributes[A.LANGFUSE_OBSERVATION_COST_DETAILS]))).toEqual({
      input: 0.0025,
      cache_read_input_tokens: 0.00025,
      output: 0.0035,
      total: 0.00625,
    });
    expect(JSON.parse(String(attributes[A.MLFLOW_CHAT_TOKEN_USAGE]))).toEqual({
      input_tokens: 1200,
      output_tokens: 350,
      total_tokens: 1550,
      cache_read_input_tokens: 200,
    });
    expect(JSON.parse(String(attributes[A.MLFLOW_LLM_COST]))).toEqual({
      input_cost: 0.0025 + 0.00025,
      output_cost: 0.0035,
      total_cost: 0.00625,
    });
    // Content, in the GenAI conventions' message shape and as MLflow inputs/outputs.
    expect(JSON.parse(String(attributes[A.GEN_AI_INPUT_MESSAGES]))).toEqual([
      { role: "system", parts: [{ type: "text", content: "Be brief." }] },
      { role: "user", parts: [{ type: "text", content: "Say hello" }] },
    ]);
    expect(JSON.parse(String(attributes[A.GEN_AI_OUTPUT_MESSAGES]))).toEqual([
      { role: "assistant", parts: [{ type: "text", content: "Hello!" }], finish_reason: "stop" },
    ]);
    expect(JSON.parse(String(attributes[A.MLFLOW_SPAN_INPUTS]))).toMatchObject({
      model: "gpt-4o",
      temperature: 0.2,
      messages: [{ role: "system" }, { role: "user", content: "Say hello" }],
    });
    expect(JSON.parse(String(attributes[A.MLFLOW_SPAN_OUTPUTS]))).toMatchObject({
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }],
    });
    // Not a stream: no time-to-first-chunk.
    expect(attributes[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]).toBeUndefined();

    const attemptSpan = byName(spans, "attempt gpt4o-east");
    expect(parentOf(attemptSpan)).toBe(ids.spanId);
    expect(attemptSpan.attributes).toMatchObject({
      [A.LLMUX_DEPLOYMENT_ID]: "gpt4o-east",
      [A.GEN_AI_PROVIDER_NAME]: "openai",
      [A.SERVER_ADDRESS]: "api.openai.com",
      [A.LLMUX_ATTEMPT_FALLBACK]: false,
      [A.LLMUX_ATTEMPT_OUTCOME]: "success",
      [A.LANGFUSE_OBSERVATION_TYPE]: "span",
    });
    expect(tracer.lookupCall("call-1")).toEqual(ids);
    expect(tracer.stats()).toEqual({ started: 1, ended: 1, errors: 0 });
  });

  it("a streamed call records time to first chunk and the completion start time", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test") });
    runCall(tracer, callEvent({}, { stream: true, callId: "call-stream" }));
    const call = byName(memory.spans(), "chat gpt-4o");
    expect(call.attributes[A.GEN_AI_REQUEST_STREAM]).toBe(true);
    expect(call.attributes[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]).toBe(0.21);
    expect(call.attributes[A.LANGFUSE_OBSERVATION_COMPLETION_START_TIME]).toBe("2025-05-01T10:00:00.210Z");
    // captureContent defaults to false in createCallTracer.
    expect(call.attributes[A.GEN_AI_INPUT_MESSAGES]).toBeUndefined();
    expect(call.attributes[A.MLFLOW_SPAN_INPUTS]).toBeUndefined();
  });

  it("an embeddings call is 'embeddings {model}' with Langfuse type embedding and MLflow type EMBEDDING", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test"), captureContent: true });
    runCall(
      tracer,
      callEvent(
        {
          response: { data: 2, dimensions: 1536 },
          finishReasons: undefined,
          cost: null,
          costReason: "unpriced model",
        },
        {
          callType: "embeddings",
          requestedModel: "text-embedding-3-small",
          modelGroup: "embed",
          messages: ["a", "b"],
          requestParams: { encoding_format: "float" },
        },
      ),
    );
    const span = byName(memory.spans(), "embeddings text-embedding-3-small");
    expect(span.attributes).toMatchObject({
      [A.GEN_AI_OPERATION_NAME]: "embeddings",
      [A.LANGFUSE_OBSERVATION_TYPE]: "embedding",
      [A.MLFLOW_SPAN_TYPE]: "EMBEDDING",
      [A.GEN_AI_REQUEST_ENCODING_FORMATS]: ["float"],
      [A.LLMUX_COST_REASON]: "unpriced model",
    });
    expect(span.attributes[A.LANGFUSE_OBSERVATION_COST_DETAILS]).toBeUndefined();
    expect(span.attributes[A.GEN_AI_INPUT_MESSAGES]).toBeUndefined();
    expect(JSON.parse(String(span.attributes[A.MLFLOW_SPAN_INPUTS]))).toEqual({
      model: "text-embedding-3-small",
      input: ["a", "b"],
    });
  });

  it("a failed call: status ERROR with the message, error.type, no usage", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test") });
    const error = {
      type: "rate_limit" as const,
      status: 429,
      message: "Rate limit reached",
      provider: "openai",
    };
    runCall(
      tracer,
      callEvent({
        status: "failure",
        usage: null,
        cost: null,
        response: undefined,
        responseId: undefined,
        responseModel: undefined,
        finishReasons: undefined,
        error,
        attempts: [attempt({ outcome: "failure", error: { ...error, upstreamStatus: 429 } })],
      }),
    );
    const call = byName(memory.spans(), "chat gpt-4o");
    expect(call.status).toEqual({ code: SpanStatusCode.ERROR, message: "Rate limit reached" });
    expect(call.attributes[A.ERROR_TYPE]).toBe("rate_limit");
    expect(call.attributes[A.LLMUX_STATUS_CODE]).toBe(429);
    expect(call.attributes[A.GEN_AI_USAGE_INPUT_TOKENS]).toBeUndefined();
    expect(call.attributes[A.LANGFUSE_OBSERVATION_USAGE_DETAILS]).toBeUndefined();
    const attemptSpan = byName(memory.spans(), "attempt gpt4o-east");
    expect(attemptSpan.status.code).toBe(SpanStatusCode.ERROR);
    expect(attemptSpan.attributes).toMatchObject({
      [A.ERROR_TYPE]: "rate_limit",
      [A.LLMUX_ATTEMPT_OUTCOME]: "failure",
      [A.LLMUX_ATTEMPT_UPSTREAM_STATUS]: 429,
    });
  });

  it("a fallback: two attempt spans under one call span, usage only on the call span", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test") });
    const failed = attempt({
      index: 0,
      outcome: "failure",
      endTime: T0 + 400,
      error: { type: "server_error", status: 502, message: "upstream 500", upstreamStatus: 500 },
    });
    const served = attempt({
      index: 1,
      modelGroup: "claude",
      deploymentId: "claude-bedrock",
      provider: "bedrock",
      model: "anthropic.claude-3-5-sonnet-20241022-v2:0",
      apiBase: "https://bedrock-runtime.us-east-1.amazonaws.com",
      startTime: T0 + 410,
      fallback: true,
    });
    const ids = runCall(
      tracer,
      callEvent({
        attempts: [failed, served],
        fallbacks: 1,
        deploymentId: "claude-bedrock",
        provider: "bedrock",
        apiBase: "https://bedrock-runtime.us-east-1.amazonaws.com",
      }),
    );
    const spans = memory.spans();
    expect(spans).toHaveLength(3);
    const attempts = spans.filter((span) => span.name.startsWith("attempt "));
    expect(attempts.map((span) => span.name)).toEqual(["attempt gpt4o-east", "attempt claude-bedrock"]);
    for (const span of attempts) {
      expect(parentOf(span)).toBe(ids.spanId);
      expect(span.spanContext().traceId).toBe(ids.traceId);
      for (const key of Object.keys(span.attributes)) {
        expect(key.startsWith("gen_ai.usage.")).toBe(false);
        expect(key).not.toBe(A.LANGFUSE_OBSERVATION_USAGE_DETAILS);
        expect(key).not.toBe(A.MLFLOW_CHAT_TOKEN_USAGE);
        expect(key).not.toBe(A.MLFLOW_LLM_COST);
      }
    }
    expect(attempts[1]?.attributes).toMatchObject({
      [A.LLMUX_ATTEMPT_FALLBACK]: true,
      [A.GEN_AI_PROVIDER_NAME]: "aws.bedrock",
      [A.SERVER_ADDRESS]: "bedrock-runtime.us-east-1.amazonaws.com",
    });
    const call = byName(spans, "chat gpt-4o");
    expect(call.attributes).toMatchObject({
      [A.GEN_AI_USAGE_INPUT_TOKENS]: 1200,
      [A.LLMUX_ATTEMPTS]: 2,
      [A.LLMUX_FALLBACKS]: 1,
      [A.GEN_AI_PROVIDER_NAME]: "aws.bedrock",
    });
  });

  it("nests under the host's active span (the host's own tracer, context.with)", () => {
    const host = memoryTracing();
    const llmux = memoryTracing();
    const tracer = createCallTracer({ tracer: llmux.provider.getTracer("llmux") });
    const hostSpan = host.provider
      .getTracer("host-app")
      .startSpan("POST /api/chat", { kind: SpanKind.SERVER });
    const ids = context.with(trace.setSpan(context.active(), hostSpan), () =>
      // A traceparent from the client is ignored when the host already has an active span.
      runCall(tracer, callEvent(), {
        traceparent: "00-11111111111111111111111111111111-2222222222222222-01",
      }),
    );
    hostSpan.end();
    const call = byName(llmux.spans(), "chat gpt-4o");
    expect(ids.traceId).toBe(hostSpan.spanContext().traceId);
    expect(parentOf(call)).toBe(hostSpan.spanContext().spanId);
  });

  it("honours an incoming W3C traceparent when no span is active", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test") });
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const ids = runCall(tracer, callEvent(), { traceparent, tracestate: "vendor=value" });
    const call = byName(memory.spans(), "chat gpt-4o");
    expect(ids.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(parentOf(call)).toBe("b7ad6b7169203331");
    expect(call.spanContext().traceState?.get("vendor")).toBe("value");
  });

  it("redaction: no content attributes when the event is redacted, even with captureContent", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test"), captureContent: true });
    runCall(tracer, callEvent({ response: undefined }, { redacted: true, messages: undefined }));
    const call = byName(memory.spans(), "chat gpt-4o");
    const contentKeys = [
      A.GEN_AI_INPUT_MESSAGES,
      A.GEN_AI_OUTPUT_MESSAGES,
      A.MLFLOW_SPAN_INPUTS,
      A.MLFLOW_SPAN_OUTPUTS,
      A.LANGFUSE_TRACE_INPUT,
      A.LANGFUSE_TRACE_OUTPUT,
      A.LANGFUSE_OBSERVATION_INPUT,
      A.LANGFUSE_OBSERVATION_OUTPUT,
    ];
    for (const key of contentKeys) expect(call.attributes[key]).toBeUndefined();
    // Usage and cost are not content: they stay.
    expect(call.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS]).toBe(350);
    // turn_off_message_logging (content capture off): no trace input/output even when the event has content
    const quiet = memoryTracing();
    runCall(
      createCallTracer({ tracer: quiet.provider.getTracer("test"), captureContent: false }),
      callEvent(),
    );
    const quietCall = byName(quiet.spans(), "chat gpt-4o");
    for (const key of contentKeys) expect(quietCall.attributes[key]).toBeUndefined();
    // the trace still gets its name
    expect(quietCall.attributes[A.LANGFUSE_TRACE_NAME]).toBe("checkout-assistant");
  });

  it("tool calls and images become GenAI message parts; data URIs are not copied into spans", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test"), captureContent: true });
    const image = `data:image/png;base64,${"A".repeat(5000)}`;
    runCall(
      tracer,
      callEvent(
        {
          finishReasons: ["tool_calls"],
          response: {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_9", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
            ],
          },
        },
        {
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "What is in this picture?" },
                { type: "image_url", image_url: { url: image } },
              ],
            },
            { role: "tool", tool_call_id: "call_1", content: "sunny" },
          ],
        },
      ),
    );
    const call = byName(memory.spans(), "chat gpt-4o");
    const input = String(call.attributes[A.GEN_AI_INPUT_MESSAGES]);
    expect(input.length).toBeLessThan(1000);
    expect(JSON.parse(input)).toEqual([
      {
        role: "user",
        parts: [
          { type: "text", content: "What is in this picture?" },
          { type: "uri", modality: "image", uri: "data:image/png;base64,[5000 chars omitted]" },
        ],
      },
      { role: "tool", parts: [{ type: "tool_call_response", id: "call_1", response: "sunny" }] },
    ]);
    expect(JSON.parse(String(call.attributes[A.GEN_AI_OUTPUT_MESSAGES]))).toEqual([
      {
        role: "assistant",
        parts: [{ type: "tool_call", id: "call_9", name: "weather", arguments: { city: "Oslo" } }],
        finish_reason: "tool_calls",
      },
    ]);
  });

  it("never throws: a broken tracer or a malformed event is counted, not raised", () => {
    const throwing = {
      startSpan() {
        throw new Error("boom");
      },
      startActiveSpan() {
        throw new Error("boom");
      },
    } as unknown as import("@opentelemetry/api").Tracer;
    const tracer = createCallTracer({ tracer: throwing });
    const handle = tracer.startCall(callEvent(), {});
    expect(handle.traceId).toBe("00000000000000000000000000000000");
    expect(() => handle.startAttempt(attempt()).end(attempt())).not.toThrow();
    expect(() => handle.end(callEvent())).not.toThrow();
    expect(tracer.stats().errors).toBe(1);

    const memory = memoryTracing();
    const healthy = createCallTracer({ tracer: memory.provider.getTracer("test") });
    const started = healthy.startCall(callEvent(), {});
    // An event missing the fields end() needs.
    expect(() =>
      started.end({ callId: "x" } as unknown as import("@llmux/callbacks").CallEvent),
    ).not.toThrow();
    expect(healthy.stats().errors).toBe(1);
    // Ending twice is a no-op.
    expect(() => started.end(callEvent())).not.toThrow();
  });

  it("remembers a bounded number of recent calls for feedback", () => {
    const memory = memoryTracing();
    const tracer = createCallTracer({ tracer: memory.provider.getTracer("test"), maxRecentCalls: 2 });
    runCall(tracer, callEvent({}, { callId: "a" }));
    runCall(tracer, callEvent({}, { callId: "b" }));
    runCall(tracer, callEvent({}, { callId: "c" }));
    expect(tracer.lookupCall("a")).toBeUndefined();
    expect(tracer.lookupCall("b")).toBeDefined();
    expect(tracer.lookupCall("c")).toBeDefined();
  });

  it("keeps exactly the last calls over many evictions; a call recorded again is found with its latest ids", () => {
    const recent = new RecentCalls(3);
    for (let index = 0; index < 1000; index++)
      recent.set(`call-${index}`, { traceId: "t", spanId: `${index}` });
    expect(recent.get("call-996")).toBeUndefined();
    for (const index of [997, 998, 999]) expect(recent.get(`call-${index}`)?.spanId).toBe(`${index}`);
    recent.set("call-998", { traceId: "t", spanId: "again" });
    expect(recent.get("call-998")?.spanId).toBe("again");
    // recording it again took the oldest place (997's)
    expect(recent.get("call-997")).toBeUndefined();
    expect(recent.get("call-999")?.spanId).toBe("999");
    recent.set("call-1000", { traceId: "t", spanId: "1000" });
    expect(recent.get("call-998")?.spanId).toBe("again");
    expect(recent.get("call-1000")?.spanId).toBe("1000");
    expect(new RecentCalls(0).get("x")).toBeUndefined();
    new RecentCalls(0).set("x", { traceId: "t", spanId: "s" });
  });

  it("a call the sampler drops: nothing exported, ids still returned, no attribute work, no error", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = createCallTracer({ tracer: provider.getTracer("test"), captureContent: true });
    const ids = runCall(tracer, callEvent());
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.traceId).not.toBe("00000000000000000000000000000000");
    expect(tracer.stats()).toEqual({ started: 1, ended: 1, errors: 0 });
  });
});
