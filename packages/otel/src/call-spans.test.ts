/**
 * Golden test of telemetry as data: the same calls (the fixture events of call-tracer.test.ts)
 * traced twice, by the live-span tracer (createCallTracer over an SDK provider with an in-memory
 * exporter) and by the deferred tracer (ids on the call's path, ReadableSpans built from records
 * by toReadableSpans in the drain), must give the same spans: names, kinds, parents, times,
 * statuses and every attribute, key by key.
 */
import type { AttemptRecord, CallEvent, CallTracer } from "@llmux/callbacks";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toReadableSpans } from "./call-spans";
import { createCallTracer } from "./call-tracer";
import { buildDeferredCallTracer } from "./deferred-call-tracer";
import { attempt, callEvent, memoryTracing, runCall, T0 } from "./test-fixtures";

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

interface TraceOptions {
  captureContent: boolean;
  environment?: string;
  release?: string;
  vendors: { langfuse: boolean; mlflow: boolean };
}

const ALL: TraceOptions = {
  captureContent: true,
  environment: "staging",
  release: "v1.2.3",
  vendors: { langfuse: true, mlflow: true },
};

/**
 * What an attempt announced at its start, when it differs from how it ended (the gateway may learn
 * the upstream's address only once the attempt ran): set by a test, undefined otherwise.
 */
let attemptStartOverrides: Partial<AttemptRecord> | undefined;

/** runCall, with the attempts started as attemptStartOverrides says. */
function run(tracer: CallTracer, event: CallEvent, carrier = {}): { traceId: string; spanId: string } {
  if (!attemptStartOverrides) return runCall(tracer, event, carrier);
  const trace = tracer.startCall(event, carrier);
  for (const record of event.attempts)
    trace.startAttempt({ ...record, ...attemptStartOverrides }).end(record);
  trace.end(event);
  return { traceId: trace.traceId, spanId: trace.spanId };
}

/** What the live path exports for these calls. */
function live(events: CallEvent[], options: TraceOptions, carrier = {}): ReadableSpan[] {
  const memory = memoryTracing();
  const tracer = createCallTracer({
    tracer: memory.provider.getTracer("golden"),
    captureContent: options.captureContent,
    environment: options.environment,
    release: options.release,
    vendorAttributes: options.vendors,
  });
  for (const event of events) run(tracer, event, carrier);
  return memory.spans();
}

/** What the deferred path hands to the exporters for the same calls. */
function deferred(
  events: CallEvent[],
  options: TraceOptions,
  carrier = {},
  provider = new BasicTracerProvider(),
): { spans: ReadableSpan[]; ids: Array<{ traceId: string; spanId: string }> } {
  const spans: ReadableSpan[] = [];
  const tracer = buildDeferredCallTracer(
    {
      captureContent: options.captureContent,
      environment: options.environment,
      release: options.release,
      vendors: { ...options.vendors },
    },
    { getTracer: () => provider.getTracer("golden"), onEnd: (span) => spans.push(span) },
  );
  const ids = events.map((event) => run(tracer, event, carrier));
  // nothing is built on the calls' path: the records wait for the drain
  expect(spans).toEqual([]);
  tracer.drain();
  return { spans, ids };
}

/** A span as compared: everything but its own random ids (parents are compared by name). */
function shape(span: ReadableSpan, all: ReadableSpan[]) {
  const parent = all.find((item) => item.spanContext().spanId === span.parentSpanContext?.spanId);
  return {
    name: span.name,
    kind: span.kind,
    parent: parent?.name ?? (span.parentSpanContext ? "external" : null),
    sameTrace: all.every((item) => item.spanContext().traceId === span.spanContext().traceId),
    sampled: span.spanContext().traceFlags,
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    status: span.status,
    attributes: span.attributes,
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events,
    links: span.links,
    ended: span.ended,
  };
}

function shapes(spans: ReadableSpan[]) {
  return spans.map((span) => shape(span, spans)).sort((a, b) => a.name.localeCompare(b.name));
}

const FAILED_ATTEMPT = attempt({
  index: 0,
  outcome: "failure",
  endTime: T0 + 400,
  error: { type: "server_error", status: 502, message: "upstream 500", upstreamStatus: 500 },
});
const SERVED_ATTEMPT = attempt({
  index: 1,
  modelGroup: "claude",
  deploymentId: "claude-bedrock",
  provider: "bedrock",
  model: "anthropic.claude-3-5-sonnet-20241022-v2:0",
  apiBase: "https://bedrock-runtime.us-east-1.amazonaws.com",
  startTime: T0 + 401,
  fallback: true,
});

const CASES: Array<{ name: string; events: CallEvent[] }> = [
  { name: "a plain chat call with content, metadata, tags, usage and cost", events: [callEvent()] },
  { name: "a streamed call (time to first chunk)", events: [callEvent({}, { stream: true })] },
  {
    name: "an embeddings call",
    events: [
      callEvent(
        { response: undefined, finishReasons: undefined, responseId: undefined },
        { callType: "embeddings", requestedModel: "text-embedding-3-small", messages: ["hello", "world"] },
      ),
    ],
  },
  {
    name: "a failed call",
    events: [
      callEvent({
        status: "failure",
        usage: null,
        cost: null,
        costReason: "the call failed",
        response: undefined,
        error: { type: "rate_limit", status: 429, message: "slow down" },
        attempts: [
          attempt({
            outcome: "failure",
            error: { type: "rate_limit", status: 429, message: "slow down" },
          }),
        ],
      }),
    ],
  },
  {
    name: "a fallback (two attempts under one call)",
    events: [callEvent({ attempts: [FAILED_ATTEMPT, SERVED_ATTEMPT], fallbacks: 1, provider: "bedrock" })],
  },
  { name: "a redacted call", events: [callEvent({ redacted: true }, { redacted: true })] },
  {
    name: "tool calls and an image",
    events: [
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
                { type: "text", text: "What is this?" },
                { type: "image_url", image_url: { url: `data:image/png;base64,${"A".repeat(500)}` } },
              ],
            },
          ],
        },
      ),
    ],
  },
];

describe("toReadableSpans (telemetry as data) gives the live path's spans", () => {
  for (const { name, events } of CASES) {
    it(`${name}: same spans, attribute by attribute`, () => {
      // sent: the same events through both tracers; back: equal span shapes
      const expected = shapes(live(events, ALL));
      const { spans } = deferred(events, ALL);
      expect(shapes(spans)).toEqual(expected);
      // and in the same order (the order the OTLP encoders write them in)
      const keys = (list: ReadableSpan[]) =>
        shapes(list).map((span) => `${span.name}: ${Object.keys(span.attributes).join(",")}`);
      expect(keys(spans)).toEqual(keys(live(events, ALL)));
      // the call span carries dozens of keys: the comparison is not vacuous
      expect(Math.max(...expected.map((span) => Object.keys(span.attributes).length))).toBeGreaterThan(15);
    });
  }

  it("attempt spans whose upstream address is known only at the end, or changes at the end, and an aborted attempt: the live path's keys in the live path's order", () => {
    const variants: Array<{ start: Partial<AttemptRecord>; end: AttemptRecord }> = [
      { start: { apiBase: undefined }, end: attempt() },
      {
        start: { apiBase: "https://api.openai.com/v1" },
        end: attempt({ apiBase: "http://10.0.0.2:8080/v1" }),
      },
      { start: { apiBase: undefined }, end: attempt({ outcome: "aborted", apiBase: undefined }) },
      {
        start: { apiBase: undefined },
        end: attempt({
          outcome: "failure",
          error: { type: "server_error", status: 502, message: "bad gateway", upstreamStatus: 502 },
        }),
      },
    ];
    for (const options of [ALL, { captureContent: false, vendors: { langfuse: false, mlflow: false } }]) {
      for (const variant of variants) {
        attemptStartOverrides = variant.start;
        try {
          const events = [callEvent({ attempts: [variant.end] })];
          const expected = live(events, options).find((span) => span.name.startsWith("attempt"))!;
          const actual = deferred(events, options).spans.find((span) => span.name.startsWith("attempt"))!;
          // sent: an attempt started one way and ended another; back: the same attributes, in order
          expect(Object.entries(actual.attributes)).toEqual(Object.entries(expected.attributes));
          expect(actual.status).toEqual(expected.status);
        } finally {
          attemptStartOverrides = undefined;
        }
      }
    }
  });

  it("with only the GenAI keys (no Langfuse, no MLflow exporter) and no content", () => {
    const options: TraceOptions = { captureContent: false, vendors: { langfuse: false, mlflow: false } };
    const events = [callEvent()];
    const expected = shapes(live(events, options));
    expect(shapes(deferred(events, options).spans)).toEqual(expected);
    for (const span of expected)
      expect(Object.keys(span.attributes).some((key) => key.startsWith("langfuse."))).toBe(false);
  });

  it("under an incoming traceparent: the call span is a child of the caller's span, in its trace", () => {
    const carrier = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    const events = [callEvent()];
    const { spans, ids } = deferred(events, ALL, carrier);
    expect(shapes(spans)).toEqual(shapes(live(events, ALL, carrier)));
    const call = spans.find((span) => span.name === "chat gpt-4o")!;
    expect(ids[0]!.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(call.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(call.spanContext().spanId).toBe(ids[0]!.spanId);
  });

  it("under the host's active span (context.with): same parenting as the live path", () => {
    const host = new BasicTracerProvider().getTracer("host").startSpan("POST /chat");
    const { spans, ids } = context.with(trace.setSpan(context.active(), host), () =>
      deferred([callEvent()], ALL),
    );
    expect(ids[0]!.traceId).toBe(host.spanContext().traceId);
    const call = spans.find((span) => span.name === "chat gpt-4o")!;
    expect(call.parentSpanContext?.spanId).toBe(host.spanContext().spanId);
    host.end();
  });

  it("a sampler that drops the call: ids returned for propagation, nothing recorded", () => {
    const provider = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
    const { spans, ids } = deferred([callEvent()], ALL, {}, provider);
    expect(spans).toEqual([]);
    expect(ids[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ids[0]!.spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it("the provider's attribute limits apply as on a live span", () => {
    const spanLimits = { attributeCountLimit: 10, attributeValueLengthLimit: 8 };
    const exporter = new InMemorySpanExporter();
    const liveProvider = new BasicTracerProvider({
      spanLimits,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = createCallTracer({ tracer: liveProvider.getTracer("golden"), captureContent: true });
    runCall(tracer, callEvent());
    const { spans } = deferred(
      [callEvent()],
      { ...ALL, environment: undefined, release: undefined },
      {},
      new BasicTracerProvider({ spanLimits }),
    );
    expect(shapes(spans)).toEqual(shapes(exporter.getFinishedSpans()));
    const call = spans.find((span) => span.name === "chat gpt-4o")!;
    expect(Object.keys(call.attributes)).toHaveLength(10);
    expect(call.droppedAttributesCount).toBeGreaterThan(0);
  });

  it("a malformed record is left out and counted; the rest of the batch still goes", () => {
    const provider = new BasicTracerProvider();
    const tracer = provider.getTracer("golden") as unknown as {
      _resource: never;
      instrumentationScope: never;
    };
    const failed = { count: 0 };
    const good = callEvent();
    const settings = { captureContent: false, vendors: { langfuse: true, mlflow: true } };
    const spanContext = {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 1,
    };
    const spans = toReadableSpans(
      [
        { type: "call", spanContext, parent: undefined, start: null as never, event: good, settings },
        { type: "call", spanContext, parent: undefined, start: good, event: good, settings },
      ],
      { resource: tracer._resource, scope: tracer.instrumentationScope },
      failed,
    );
    expect(failed.count).toBe(1);
    expect(spans.map((span) => span.name)).toEqual(["chat gpt-4o"]);
  });
});
