/**
 * The span count of OTLP/protobuf export requests without decoding them, against the full decoder on
 * the same bytes, and a count-only receiver (what the bench runs) against a decoding one.
 */
import { gzipSync } from "node:zlib";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countProtobufSpans } from "./count-spans";
import { decodeProtobufTraces } from "./decode";
import { otlpTraceDescriptor } from "./otlp-descriptor";
import { startOtlpReceiver } from "./receiver";
import type { OtlpReceiver } from "./types";

const root = protobuf.Root.fromJSON(otlpTraceDescriptor as unknown as protobuf.INamespace);
const ExportRequest = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");

function span(index: number) {
  return {
    traceId: Buffer.alloc(16, 7),
    spanId: Buffer.alloc(8, index + 1),
    name: `chat gpt-4o #${index}`,
    kind: 3,
    startTimeUnixNano: "1746093600000000000",
    endTimeUnixNano: "1746093601840000000",
    attributes: [
      { key: "gen_ai.usage.input_tokens", value: { intValue: 1200 + index } },
      { key: "gen_ai.prompt", value: { stringValue: "hello ".repeat(50) } },
      { key: "tags", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: 2 }] } } },
    ],
    events: [{ name: "first-token", timeUnixNano: "1746093600210000000" }],
    links: [{ traceId: Buffer.alloc(16, 9), spanId: Buffer.alloc(8, 9) }],
    status: { code: index % 2 === 0 ? 1 : 2, message: "done" },
  };
}

/** Two resources, the first with two scopes: 3 + 0 + 2 spans, schema URLs and resource attributes between them. */
function exportRequest(): Uint8Array {
  let next = 0;
  const spans = (count: number) => Array.from({ length: count }, () => span(next++));
  const message = ExportRequest.fromObject({
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "shop-api" } }] },
        scopeSpans: [
          { scope: { name: "@llmux/otel", version: "0.1.0" }, spans: spans(3), schemaUrl: "https://x/1" },
          { scope: { name: "empty" }, spans: [] },
        ],
        schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
      },
      { resource: { attributes: [] }, scopeSpans: [{ scope: { name: "other" }, spans: spans(2) }] },
    ],
  });
  return ExportRequest.encode(message).finish();
}

describe("countProtobufSpans", () => {
  it("counts what the decoder decodes, across resources and scopes", () => {
    const bytes = exportRequest();
    expect(decodeProtobufTraces(bytes, "/v1/traces")).toHaveLength(5);
    expect(countProtobufSpans(bytes)).toBe(5);
  });

  it("an empty request has no spans", () => {
    expect(countProtobufSpans(new Uint8Array(0))).toBe(0);
  });

  it("throws on a truncated request, as the decoder does", () => {
    const bytes = exportRequest();
    const truncated = bytes.subarray(0, bytes.length - 40);
    expect(() => decodeProtobufTraces(truncated, "/v1/traces")).toThrow();
    expect(() => countProtobufSpans(truncated)).toThrow();
  });
});

describe("startOtlpReceiver({ countOnly: true })", () => {
  let counting: OtlpReceiver;
  let decoding: OtlpReceiver;
  beforeAll(async () => {
    [counting, decoding] = await Promise.all([startOtlpReceiver({ countOnly: true }), startOtlpReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([counting.close(), decoding.close()]);
  });

  it("records the same span counts as a decoding receiver, keeps no spans, and answers a malformed body with 400", async () => {
    const bytes = Buffer.from(exportRequest());
    const send = (receiver: OtlpReceiver, body: Buffer, encoding?: string) =>
      fetch(`${receiver.url}/v1/traces`, {
        method: "POST",
        headers: {
          "content-type": "application/x-protobuf",
          ...(encoding ? { "content-encoding": encoding } : {}),
        },
        body,
      });
    for (const receiver of [counting, decoding]) {
      expect((await send(receiver, bytes)).status).toBe(200);
      expect((await send(receiver, gzipSync(bytes), "gzip")).status).toBe(200);
      // a length that runs past the body: the counting receiver refuses it as the decoding one does
      expect((await send(receiver, Buffer.from([0x0a, 0x7f, 0x01]))).status).toBe(400);
    }
    const counts = (receiver: OtlpReceiver) =>
      receiver.requests.map((request) => [request.status, request.spanCount]);
    expect(counts(counting)).toEqual([
      [200, 5],
      [200, 5],
      [400, 0],
    ]);
    expect(counts(counting)).toEqual(counts(decoding));
    expect(counting.spans).toHaveLength(0);
    expect(decoding.spans).toHaveLength(10);
  });

  it("decodes OTLP/JSON to count it (no framing to walk), keeps no spans, and answers invalid JSON with 400", async () => {
    // the same five spans as OTLP/JSON: ids in hex, the protobuf message's JSON form
    const message = ExportRequest.toObject(ExportRequest.decode(exportRequest()), { longs: String });
    const hexIds = (value: unknown): unknown => {
      if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString("hex");
      if (Array.isArray(value)) return value.map(hexIds);
      if (value && typeof value === "object")
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, hexIds(item)]));
      return value;
    };
    const body = JSON.stringify(hexIds(message));
    const send = (receiver: OtlpReceiver, text: string) =>
      fetch(`${receiver.url}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: text,
      });
    const before = { counting: counting.requests.length, decoding: decoding.requests.length };
    for (const receiver of [counting, decoding]) {
      const accepted = await send(receiver, body);
      expect(accepted.status).toBe(200);
      expect(await accepted.text()).toBe("{}");
      expect((await send(receiver, "{not json")).status).toBe(400);
    }
    const counts = (receiver: OtlpReceiver, from: number) =>
      receiver.requests.slice(from).map((request) => [request.status, request.spanCount]);
    expect(counts(counting, before.counting)).toEqual([
      [200, 5],
      [400, 0],
    ]);
    expect(counts(decoding, before.decoding)).toEqual(counts(counting, before.counting));
    expect(counting.spans).toHaveLength(0);
    expect(decoding.spans.filter((span) => span.encoding === "json")).toHaveLength(5);
  });
});
