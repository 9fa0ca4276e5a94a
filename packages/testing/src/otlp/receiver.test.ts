/**
 * The OTLP receiver on its own: protobuf (gzip too) and OTLP/JSON export requests built here by
 * hand, injected failures and delays, the Langfuse score mock.
 */
import { gzipSync } from "node:zlib";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { otlpTraceDescriptor } from "./otlp-descriptor";
import { startOtlpReceiver } from "./receiver";
import type { OtlpReceiver } from "./types";

const root = protobuf.Root.fromJSON(otlpTraceDescriptor as unknown as protobuf.INamespace);
const ExportRequest = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");

const traceId = "0af7651916cd43dd8448eb211c80319c";
const spanId = "b7ad6b7169203331";
const parentId = "00f067aa0ba902b7";

function requestObject(ids: "bytes" | "hex") {
  const id = (hex: string) => (ids === "bytes" ? Buffer.from(hex, "hex") : hex);
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "shop-api" } }] },
        scopeSpans: [
          {
            scope: { name: "@llmux/otel", version: "0.1.0" },
            spans: [
              {
                traceId: id(traceId),
                spanId: id(spanId),
                parentSpanId: id(parentId),
                name: "chat gpt-4o",
                kind: 3,
                startTimeUnixNano: "1746093600000000000",
                endTimeUnixNano: "1746093601840000000",
                attributes: [
                  { key: "gen_ai.usage.input_tokens", value: { intValue: 1200 } },
                  { key: "gen_ai.request.temperature", value: { doubleValue: 0.2 } },
                  { key: "gen_ai.request.stream", value: { boolValue: true } },
                  {
                    key: "langfuse.trace.tags",
                    value: { arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }] } },
                  },
                  {
                    key: "nested",
                    value: { kvlistValue: { values: [{ key: "k", value: { stringValue: "v" } }] } },
                  },
                ],
                events: [{ name: "first-token", timeUnixNano: "1746093600210000000", attributes: [] }],
                status: { code: 2, message: "boom" },
              },
            ],
          },
        ],
      },
    ],
  };
}

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver.close();
});

async function post(path: string, body: Buffer | string, headers: Record<string, string>) {
  return fetch(`${receiver.url}${path}`, { method: "POST", headers, body });
}

describe("startOtlpReceiver", () => {
  it("decodes protobuf (gzip) and OTLP/JSON to the same flat span", async () => {
    receiver.reset();
    const message = ExportRequest.fromObject(requestObject("bytes"));
    const bytes = Buffer.from(ExportRequest.encode(message).finish());
    const first = await post("/api/public/otel/v1/traces", gzipSync(bytes), {
      "content-type": "application/x-protobuf",
      "content-encoding": "gzip",
      authorization: "Basic abc",
    });
    expect(first.status).toBe(200);
    expect((await first.arrayBuffer()).byteLength).toBe(0);
    const second = await post("/v1/traces", JSON.stringify(requestObject("hex")), {
      "content-type": "application/json",
    });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({});

    const [fromProtobuf, fromJson] = await receiver.waitForSpans(2);
    expect(fromProtobuf).toMatchObject({
      traceId,
      spanId,
      parentSpanId: parentId,
      name: "chat gpt-4o",
      kind: 3,
      kindName: "CLIENT",
      startTimeUnixNano: "1746093600000000000",
      startTimeMs: 1746093600000,
      endTimeMs: 1746093601840,
      status: { code: 2, message: "boom" },
      resource: { "service.name": "shop-api" },
      scope: { name: "@llmux/otel", version: "0.1.0" },
      path: "/api/public/otel/v1/traces",
      encoding: "protobuf",
      attributes: {
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.stream": true,
        "langfuse.trace.tags": ["a", "b"],
        nested: { k: "v" },
      },
      events: [{ name: "first-token", timeUnixNano: "1746093600210000000", attributes: {} }],
    });
    const { path: _p1, encoding: _e1, ...protobufRest } = fromProtobuf ?? ({} as never);
    const { path: _p2, encoding: _e2, ...jsonRest } = fromJson ?? ({} as never);
    expect(jsonRest).toEqual(protobufRest);
    expect(receiver.requests.map((request) => [request.path, request.status, request.spanCount])).toEqual([
      ["/api/public/otel/v1/traces", 200, 1],
      ["/v1/traces", 200, 1],
    ]);
    expect(receiver.requests[0]?.headers.authorization).toBe("Basic abc");
  });

  it("injected failures and delays, then normal answers; unknown paths are 404", async () => {
    receiver.reset();
    receiver.failNext(503, 2);
    receiver.delayNext(200);
    const body = JSON.stringify(requestObject("hex"));
    const started = Date.now();
    const statuses = [];
    for (let index = 0; index < 3; index++) {
      statuses.push((await post("/v1/traces", body, { "content-type": "application/json" })).status);
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(receiver.spans).toHaveLength(1);
    expect((await post("/elsewhere", "{}", { "content-type": "application/json" })).status).toBe(404);
    expect((await post("/v1/traces", "x", { "content-type": "text/plain" })).status).toBe(415);
    expect(
      (await post("/v1/traces", "not protobuf", { "content-type": "application/x-protobuf" })).status,
    ).toBe(400);
    await expect(receiver.waitForSpans(5, 100)).rejects.toThrow(/wanted 5 spans, received 1/);
  });

  it("mocks Langfuse's POST /api/public/scores", async () => {
    receiver.reset();
    const response = await post("/api/public/scores", JSON.stringify({ traceId, name: "thumbs", value: 1 }), {
      "content-type": "application/json",
      authorization: "Basic xyz",
    });
    expect(await response.json()).toEqual({ id: "score-1" });
    expect(receiver.scores).toEqual([
      {
        headers: expect.objectContaining({ authorization: "Basic xyz" }),
        body: { traceId, name: "thumbs", value: 1 },
        id: "score-1",
      },
    ]);
  });
});
