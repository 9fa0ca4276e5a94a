/**
 * Golden test of llmux's OTLP/protobuf encoder: for the same spans it must produce exactly the
 * bytes of @opentelemetry/otlp-transformer's ProtobufTraceSerializer (the stock exporter's
 * encoding): llmux's call and attempt spans with content, and SDK spans with every attribute type,
 * events, links, trace state, remote parents, non-ASCII text and long values, over two resources
 * and two instrumentation scopes.
 */
import { type Attributes, context, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { encodeRecordSpans, toReadableSpans } from "./call-spans";
import {
  type DirectAttributeSpan,
  encodeTraceExportRequest,
  type PreEncodedSpan,
  repeatedValuesCached,
} from "./otlp-trace-encoder";
import { attempt, callEvent, startEvent, T0 } from "./test-fixtures";

/** A tracer whose finished spans `exporter` keeps, under a resource of its own. */
function recordingTracer(name: string) {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": name }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  }).getTracer(name);
  return { exporter, tracer };
}

function expectSameBytes(spans: ReadableSpan[]): void {
  const expected = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
  const actual = Buffer.from(encodeTraceExportRequest(spans));
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

const LONG_ASCII = "a".repeat(200);
const LONG_TEXT = `${"Grüße, 世界! 🎉 ".repeat(1500)}end`;
const LONE_SURROGATE = `broken \ud800 pair and \udc00 too`;

function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const spanProcessors = [new SimpleSpanProcessor(exporter)];
  const first = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": "golden",
      "service.version": "1.0.0",
      "host.cores": 2,
      "deployment.flag": true,
      "process.command_args": ["node", "main.js"],
    }),
    spanProcessors,
  });
  const second = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "other-ünïcode" }),
    spanProcessors,
  });
  const attributes: Attributes = {
    "string.short": "hello",
    "string.empty": "",
    "string.long.ascii": LONG_ASCII,
    "string.long.text": LONG_TEXT,
    "string.surrogate": LONE_SURROGATE,
    "string.emoji": "🙂",
    "ключ.юникод": "значение",
    "int.small": 7,
    "int.zero": 0,
    "int.negative": -42,
    "int.large": 2 ** 53,
    "int.max32": 0xffffffff,
    "int.above32": 0x1_0000_0001,
    "double.value": 3.25,
    "double.negative": -0.5,
    "bool.true": true,
    "bool.false": false,
    "array.strings": ["a", "ü", LONG_ASCII],
    "array.numbers": [1, 2.5, -3],
    "array.bools": [true, false],
    "array.empty": [],
  };
  const parent = trace.setSpanContext(context.active(), {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState("vendor=value,other=ünï"),
  });
  const tracer = first.getTracer("golden-scope", "2.0.0");
  const span = tracer.startSpan(
    "root span",
    { kind: SpanKind.SERVER, attributes, startTime: [1, 5] },
    parent,
  );
  span.addEvent("event one", { "event.attribute": "x", "event.count": 3 }, [1_700_000_000, 123_456_789]);
  span.addEvent("event two");
  span.addLink({
    context: {
      traceId: "1234567890abcdef1234567890abcdef",
      spanId: "1234567890abcdef",
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    },
    attributes: { "link.attribute": "y" },
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: "it failed: ✗" });
  span.end([4_102_444_800, 999_999_999]);
  const child = tracer.startSpan(
    "child",
    { kind: SpanKind.INTERNAL, startTime: T0 },
    trace.setSpan(context.active(), span),
  );
  child.setStatus({ code: SpanStatusCode.OK });
  child.end(T0 + 1);
  const unversioned = first.getTracer("scope-without-version");
  unversioned.startSpan("no version", { kind: SpanKind.CLIENT }).end();
  second.getTracer("golden-scope", "2.0.0").startSpan("second resource", { kind: SpanKind.PRODUCER }).end();
  return exporter.getFinishedSpans();
}

interface LlmuxSpanOptions {
  limits?: { attributeCountLimit?: number; attributeValueLengthLimit?: number };
  start?: Parameters<typeof startEvent>[0];
  onLateError?: () => void;
  broken?: boolean;
  /** The start of the answer's text (default "Hello!"). */
  reply?: string;
}

function llmuxSpans(options: LlmuxSpanOptions = {}): ReadableSpan[] {
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "llmux" }) });
  const tracer = provider.getTracer("@llmux/otel", "0.1.0") as unknown as {
    _resource: ReadableSpan["resource"];
    instrumentationScope: ReadableSpan["instrumentationScope"];
  };
  const batch = { resource: tracer._resource, scope: tracer.instrumentationScope, limits: options.limits };
  const settings = {
    captureContent: true,
    environment: "prod",
    release: "1.2.3",
    vendors: { langfuse: true, mlflow: true },
  };
  const spanContext = { traceId: "0af7651916cd43dd8448eb211c80319c", traceFlags: TraceFlags.SAMPLED };
  const event = callEvent(
    {
      response: { role: "assistant", content: `${options.reply ?? "Hello!"} ${LONG_TEXT}` },
    },
    {
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: `Say hello ${LONE_SURROGATE}` },
      ],
    },
  );
  return toReadableSpans(
    [
      {
        type: "call",
        spanContext: { ...spanContext, spanId: "b7ad6b7169203331" },
        parent: undefined,
        start: startEvent(options.start),
        event: options.broken ? { ...event, attempts: null as never } : event,
        settings,
      },
      {
        type: "attempt",
        spanContext: { ...spanContext, spanId: "00f067aa0ba902b7" },
        parent: { ...spanContext, spanId: "b7ad6b7169203331" },
        attempt: { ...attempt(), startTime: T0 + 5 },
        record: attempt({
          outcome: "failure",
          error: { type: "rate_limit", status: 429, message: "slow down", upstreamStatus: 429 },
        }),
        settings,
      },
    ],
    batch,
    undefined,
    options.onLateError,
  );
}

/** The same spans encoded twice: straight from their records, then from built attributes objects. */
function expectDirectSameBytes(make: () => ReadableSpan[]): void {
  const direct = make();
  expect(direct.every((span) => (span as unknown as DirectAttributeSpan).attributesBuilt === false)).toBe(
    true,
  );
  const actual = Buffer.from(encodeTraceExportRequest(direct));
  // the encoder did not need the attributes objects
  expect(direct.every((span) => (span as unknown as DirectAttributeSpan).attributesBuilt === false)).toBe(
    true,
  );
  const built = make();
  const expected = Buffer.from(ProtobufTraceSerializer.serializeRequest(built)!);
  expect(built.every((span) => (span as unknown as DirectAttributeSpan).attributesBuilt)).toBe(true);
  expect(actual.equals(expected)).toBe(true);
}

describe("OTLP/protobuf encoder", () => {
  it("encodes llmux's call and attempt spans exactly as the transformer does", () => {
    const spans = llmuxSpans();
    expect(spans).toHaveLength(2);
    expectSameBytes(spans);
  });

  it("encodes SDK spans with every attribute type, events, links and several resources and scopes exactly as the transformer does", () => {
    const spans = sdkSpans();
    expect(spans.length).toBe(4);
    expectSameBytes(spans);
  });

  it("encodes a large batch (outgrowing its first guess) and an empty one exactly as the transformer does", () => {
    const many: ReadableSpan[] = [];
    for (let index = 0; index < 300; index++) many.push(...llmuxSpans());
    expectSameBytes(many);
    expectSameBytes([]);
  });

  it("encodes batches far smaller and far larger than the one before exactly as the transformer does", () => {
    // each batch's messages reserve their length prefixes by the batch before: too long, then too short
    const large: ReadableSpan[] = [];
    for (let index = 0; index < 60; index++) large.push(...llmuxSpans());
    const tiny = sdkSpans().filter((span) => span.name !== "root span");
    for (const batch of [large, tiny, large, tiny, tiny]) expectSameBytes(batch);
  });

  it("encodes llmux's spans straight from their records (no attributes object) to the transformer's bytes", () => {
    expectDirectSameBytes(() => llmuxSpans());
    const many = () => {
      const spans: ReadableSpan[] = [];
      for (let index = 0; index < 50; index++) spans.push(...llmuxSpans());
      return spans;
    };
    expectDirectSameBytes(many);
  });

  it("a record whose attributes need the object's rules (a key set twice, span limits) encodes as the built object", () => {
    // metadata.team repeats the call's team key: the first position keeps the later value
    const team = { team: "search", metadata: { team: "metadata-team", purpose: "golden" } };
    const twice = llmuxSpans({ start: team });
    expect(twice[0]!.attributes["langfuse.trace.metadata.team"]).toBe("metadata-team");
    expectSameBytes(llmuxSpans({ start: team }));
    const encoded = Buffer.from(encodeTraceExportRequest(llmuxSpans({ start: team })));
    expect(encoded.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(twice)!))).toBe(true);
    // the provider's limits: 10 attributes, values cut to 8 characters
    const limits = { attributeCountLimit: 10, attributeValueLengthLimit: 8 };
    const limited = llmuxSpans({ limits });
    expect(limited[0]!.droppedAttributesCount).toBeGreaterThan(0);
    const direct = Buffer.from(encodeTraceExportRequest(llmuxSpans({ limits })));
    expect(direct.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(limited)!))).toBe(true);
    // values cut, count under the limit: still encoded straight from the record
    expectDirectSameBytes(() => llmuxSpans({ limits: { attributeValueLengthLimit: 8 } }));
  });

  it("spans of successive drains keep their own bytes while the encoder reuses its buffer", () => {
    // four drains before one export (spans of about 50 kB each): 4 calls (the buffer grows to fit them
    // and is kept), 4 (written into the kept buffer from its start), 1 (written over the second
    // drain's first call there), then 30 (more than it holds: a new one). Every call's answer
    // differs, so a span whose bytes were written over would not match.
    const sizes = [4, 4, 1, 30];
    const reply = (drain: number, call: number) => `Drain ${drain}, call ${call}:`;
    const drains = sizes.map((calls, drain) => {
      const spans: ReadableSpan[] = [];
      for (let call = 0; call < calls; call++) spans.push(...llmuxSpans({ reply: reply(drain, call) }));
      encodeRecordSpans(spans);
      return spans;
    });
    const actual = Buffer.from(encodeTraceExportRequest(drains.flat()));
    const reference: ReadableSpan[] = [];
    sizes.forEach((calls, drain) => {
      for (let call = 0; call < calls; call++) reference.push(...llmuxSpans({ reply: reply(drain, call) }));
    });
    const expected = Buffer.from(ProtobufTraceSerializer.serializeRequest(reference)!);
    expect(actual.length).toBe(expected.length);
    expect(actual.equals(expected)).toBe(true);
  });

  it("spans encoded when the tracer drains (records let go) make the transformer's bytes at the export", () => {
    // 120 calls (240 spans) encoded in one drain, mixed with SDK spans of two other resources
    const drained: ReadableSpan[] = [];
    for (let index = 0; index < 120; index++) drained.push(...llmuxSpans());
    encodeRecordSpans(drained);
    const encoded = drained as unknown as Array<PreEncodedSpan & DirectAttributeSpan>;
    expect(encoded.every((span) => typeof span.encodedSpan === "string")).toBe(true);
    // the record is gone: nothing is left to write attributes from
    const written: string[] = [];
    encoded[0]!.writeAttributesTo({ setAttribute: (key: string) => written.push(key) });
    expect(written).toEqual([]);
    const sdk = sdkSpans();
    const actual = Buffer.from(encodeTraceExportRequest([...sdk, ...drained]));
    const reference: ReadableSpan[] = [];
    for (let index = 0; index < 120; index++) reference.push(...llmuxSpans());
    const expected = Buffer.from(ProtobufTraceSerializer.serializeRequest([...sdk, ...reference])!);
    expect(actual.equals(expected)).toBe(true);
    // with span limits and a repeated key: the same rules as encoding at the export
    const limits = { attributeCountLimit: 10, attributeValueLengthLimit: 8 };
    const team = { team: "search", metadata: { team: "metadata-team" } };
    for (const options of [{ limits }, { start: team }]) {
      const early = llmuxSpans(options);
      encodeRecordSpans(early);
      const late = llmuxSpans(options);
      expect(
        Buffer.from(encodeTraceExportRequest(early)).equals(
          Buffer.from(ProtobufTraceSerializer.serializeRequest(late)!),
        ),
      ).toBe(true);
    }
    // a record that fails while encoded at the drain is counted once and sent with what it had
    let errors = 0;
    const broken = llmuxSpans({ broken: true, onLateError: () => errors++ });
    encodeRecordSpans(broken);
    expect(errors).toBe(1);
    const bytes = Buffer.from(encodeTraceExportRequest(broken));
    expect(errors).toBe(1);
    const again = llmuxSpans({ broken: true });
    expect(bytes.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(again)!))).toBe(true);
  });

  it("a record that fails while its attributes are written is counted once and still sent with what it had", () => {
    let errors = 0;
    const spans = llmuxSpans({ broken: true, onLateError: () => errors++ });
    expect(spans).toHaveLength(2);
    const bytes = Buffer.from(encodeTraceExportRequest(spans));
    expect(errors).toBe(1);
    const again = llmuxSpans({ broken: true, onLateError: () => errors++ });
    expect(bytes.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(again)!))).toBe(true);
    expect(errors).toBe(2);
  });

  it("writes a record span's times from its milliseconds as the transformer does from startTime and endTime", () => {
    // fractional milliseconds (rounded to the nanosecond), an end before the start (clamped)
    for (const startTime of [T0 + 0.1234567, 1_700_000_000_999.9995, 0.5]) {
      const spans = llmuxSpans({ start: { startTime } });
      expectSameBytes(spans);
      expectDirectSameBytes(() => llmuxSpans({ start: { startTime } }));
    }
  });

  it("writes texts around every length boundary, and repeated values (kept encoded, to a bound), as the transformer does", () => {
    const { exporter, tracer } = recordingTracer("cache");
    const values = [
      "gpt-4o",
      "",
      "modèle-ü",
      "🙂 emoji",
      LONE_SURROGATE,
      "x".repeat(128),
      // longer than a cached value may be: written each time
      "y".repeat(129),
      LONG_ASCII,
    ];
    // texts whose UTF-8 length needs a longer length prefix than one byte per character would
    // (written after a guessed prefix, then moved), around each varint boundary and past the
    // length written unmeasured
    for (const length of [20, 24, 25, 42, 43, 64, 127, 128, 8191, 16383, 16384, 70_000]) {
      values.push("é".repeat(length), `${"a".repeat(length - 1)}€`, "€".repeat(length));
    }
    // a flood of distinct models after the usual ones (which stay cached: a full cache takes no
    // new value until it has missed a thousand times)
    for (let index = 0; index < 500; index++) values.push(`model-${index}`);
    for (const round of [0, 1]) {
      for (const value of values) {
        tracer
          .startSpan(`span ${round} ${value}`, {
            attributes: {
              "gen_ai.request.model": value,
              "gen_ai.provider.name": "openai",
              "server.address": value,
              "llmux.call_id": value,
            },
          })
          .end();
      }
    }
    const spans = exporter.getFinishedSpans();
    expectSameBytes(spans);
    // encoded again after the flood: the same bytes whether a value is met fresh or cached
    expect(
      Buffer.from(encodeTraceExportRequest(spans)).equals(Buffer.from(encodeTraceExportRequest(spans))),
    ).toBe(true);
    // the usual values: cached by the first encoding, written from the cache by the second
    const usual = spans.slice(0, 8);
    expectSameBytes(usual);
    expectSameBytes(usual);
    expect(repeatedValuesCached("gen_ai.request.model")).toBeGreaterThan(0);
    expect(repeatedValuesCached("gen_ai.request.model")).toBeLessThanOrEqual(64);
    expect(repeatedValuesCached("server.address")).toBeLessThanOrEqual(64);
    expect(repeatedValuesCached("gen_ai.provider.name")).toBe(1);
    // a key whose values differ per call is not cached at all
    expect(repeatedValuesCached("llmux.call_id")).toBe(0);
  });

  it("a key with more values than the cache holds: every value written right, the cache full, then renewed", () => {
    const { exporter, tracer } = recordingTracer("renewal");
    // new values fill the cache (other tests' calls may have put some in), the next 1023 miss it
    // (written directly), the 1024th miss renews it
    const filling = 64 - repeatedValuesCached("llmux.team");
    for (let index = 0; index < filling + 1024; index++)
      tracer.startSpan(`span ${index}`, { attributes: { "llmux.team": `renewal-team-${index}` } }).end();
    const spans = exporter.getFinishedSpans();
    expectSameBytes(spans.slice(0, filling + 1023));
    expect(repeatedValuesCached("llmux.team")).toBe(64);
    expectSameBytes(spans.slice(filling + 1023));
    expect(repeatedValuesCached("llmux.team")).toBe(1);
    // hits do not count as misses
    expectSameBytes(spans.slice(filling + 1023));
    expect(repeatedValuesCached("llmux.team")).toBe(1);
  });

  it("a long text reserves about its own size in the request's buffer, not three bytes per character", () => {
    const { exporter, tracer } = recordingTracer("reserve");
    tracer.startSpan("prompt", { attributes: { prompt: "a".repeat(60_000) } }).end();
    const spans = exporter.getFinishedSpans();
    expectSameBytes(spans);
    const request = encodeTraceExportRequest(spans);
    expect(request.buffer.byteLength).toBeLessThan(2.5 * request.length);
  });
});
