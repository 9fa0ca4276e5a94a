/**
 * Call spans through the real OTLP/HTTP exporters (protobuf and JSON) into the in-process OTLP
 * receiver of @llmux/testing, which decodes them with the official opentelemetry-proto schema.
 */
import { type DecodedSpan, type OtlpReceiver, startOtlpReceiver } from "@llmux/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as A from "./attributes";
import { langfuseExporter, otlpExporter } from "./exporters";
import {
  addSpanExporter,
  flushTracing,
  getSharedCallTracer,
  resetSharedTracing,
  tracingStats,
} from "./registry";
import { attempt, callEvent, runCall, T0 } from "./test-fixtures";

let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await resetSharedTracing();
  receiver.reset();
});
afterAll(async () => {
  await receiver.close();
});

function find(spans: DecodedSpan[], name: string): DecodedSpan {
  const span = spans.find((item) => item.name === name);
  if (!span) throw new Error(`no span ${name}; got ${spans.map((item) => item.name).join(", ")}`);
  return span;
}

describe("export over OTLP/HTTP", () => {
  it("protobuf: a plain and a streamed call arrive with every attribute, ids and parenting intact", async () => {
    const handle = addSpanExporter(otlpExporter({ url: receiver.tracesUrl, env: {} }));
    const tracer = getSharedCallTracer({ captureContent: true, environment: "test", release: "r1" });
    const plain = runCall(tracer, callEvent());
    const streamed = runCall(tracer, callEvent({}, { callId: "call-2", stream: true }));
    await handle.flush();

    const spans = await receiver.waitForSpans(4);
    // What was sent: two calls of one attempt each. What came back: 4 spans, protobuf, on /v1/traces.
    expect(spans).toHaveLength(4);
    expect(receiver.requests.every((request) => request.contentType === "application/x-protobuf")).toBe(true);
    expect(receiver.requests.every((request) => request.path === "/v1/traces")).toBe(true);
    const calls = spans.filter((span) => span.name === "chat gpt-4o");
    expect(calls.map((span) => span.spanId).sort()).toEqual([plain.spanId, streamed.spanId].sort());
    const first = calls.find((span) => span.spanId === plain.spanId) as DecodedSpan;
    expect(first.traceId).toBe(plain.traceId);
    expect(first.parentSpanId).toBeUndefined();
    expect(first.kindName).toBe("CLIENT");
    expect(first.status).toEqual({ code: 1 });
    expect(first.startTimeMs).toBe(T0);
    expect(first.endTimeMs).toBe(T0 + 1840);
    expect(first.scope).toEqual({ name: "@llmux/otel", version: "0.1.0" });
    expect(first.resource["service.name"]).toBe("llmux");
    expect(first.attributes).toMatchObject({
      [A.GEN_AI_OPERATION_NAME]: "chat",
      [A.GEN_AI_PROVIDER_NAME]: "openai",
      [A.GEN_AI_REQUEST_MODEL]: "gpt-4o",
      [A.GEN_AI_REQUEST_TEMPERATURE]: 0.2,
      [A.GEN_AI_RESPONSE_FINISH_REASONS]: ["stop"],
      [A.GEN_AI_USAGE_INPUT_TOKENS]: 1200,
      [A.GEN_AI_USAGE_OUTPUT_TOKENS]: 350,
      [A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 200,
      [A.SERVER_ADDRESS]: "api.openai.com",
      [A.SERVER_PORT]: 443,
      [A.USER_ID]: "alice",
      [A.SESSION_ID]: "session-9",
      [A.LANGFUSE_OBSERVATION_TYPE]: "generation",
      [A.LANGFUSE_TRACE_TAGS]: ["prod", "checkout"],
      [A.LANGFUSE_ENVIRONMENT]: "test",
      [A.LANGFUSE_RELEASE]: "r1",
      [A.MLFLOW_SPAN_TYPE]: "CHAT_MODEL",
    });
    expect(JSON.parse(String(first.attributes[A.LANGFUSE_OBSERVATION_USAGE_DETAILS]))).toMatchObject({
      input: 1000,
      output: 300,
      total: 1550,
    });
    expect(JSON.parse(String(first.attributes[A.GEN_AI_INPUT_MESSAGES]))).toHaveLength(2);
    const second = calls.find((span) => span.spanId === streamed.spanId) as DecodedSpan;
    expect(second.attributes[A.GEN_AI_REQUEST_STREAM]).toBe(true);
    expect(second.attributes[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]).toBe(0.21);

    const attemptSpan = spans.find(
      (span) => span.name === "attempt gpt4o-east" && span.traceId === plain.traceId,
    );
    expect(attemptSpan?.parentSpanId).toBe(plain.spanId);
    expect(tracingStats()).toEqual([
      {
        exporter: "otlp",
        queued: 0,
        exported: 4,
        droppedQueueFull: 0,
        droppedShutdown: 0,
        droppedExportFailed: 0,
      },
    ]);
  });

  it("spans are encoded at the drain only while every exporter is llmux's protobuf one; any other still reads every attribute", async () => {
    // a protobuf exporter alone: what it is handed carries its encoding, not its record
    const seen: Array<{ encodedSpan?: unknown; attributes: Record<string, unknown> }> = [];
    const tap = {
      export(spans: never[], done: (result: { code: number }) => void) {
        seen.push(...spans);
        done({ code: 0 });
      },
      shutdown: async () => undefined,
    };
    addSpanExporter(otlpExporter({ url: receiver.tracesUrl, env: {} }));
    runCall(getSharedCallTracer({ captureContent: true }), callEvent());
    await flushTracing();
    expect((await receiver.waitForSpans(2)).map((span) => span.name).sort()).toEqual([
      "attempt gpt4o-east",
      "chat gpt-4o",
    ]);
    // with an exporter that reads `attributes` beside it: nothing is encoded early, both get it all
    addSpanExporter(tap, { name: "tap" });
    const ids = runCall(getSharedCallTracer(), callEvent({}, { callId: "call-2" }));
    await flushTracing();
    const spans = await receiver.waitForSpans(4);
    expect(seen).toHaveLength(2);
    expect(seen.every((span) => span.encodedSpan === undefined)).toBe(true);
    const tapped = seen.find((span) => span.attributes[A.LLMUX_CALL_ID] === "call-2");
    expect(tapped?.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS]).toBe(350);
    const received = spans.find((span) => span.spanId === ids.spanId);
    expect(received?.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS]).toBe(350);
    expect(received?.attributes[A.LLMUX_CALL_ID]).toBe("call-2");
  });

  it("OTLP/JSON carries the same spans", async () => {
    addSpanExporter(otlpExporter({ url: receiver.tracesUrl, protocol: "http/json", env: {} }));
    const ids = runCall(getSharedCallTracer(), callEvent());
    await flushTracing();
    const spans = await receiver.waitForSpans(2);
    expect(receiver.requests[0]?.contentType).toBe("application/json");
    const call = find(spans, "chat gpt-4o");
    expect(call.encoding).toBe("json");
    expect(call.traceId).toBe(ids.traceId);
    expect(call.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS]).toBe(350);
    expect(call.attributes[A.LANGFUSE_TRACE_TAGS]).toEqual(["prod", "checkout"]);
  });

  it("a failed call and a fallback decode with status ERROR, error.type and two attempts", async () => {
    addSpanExporter(otlpExporter({ url: receiver.tracesUrl, env: {} }));
    const tracer = getSharedCallTracer();
    const error = { type: "timeout" as const, status: 504, message: "Upstream timed out" };
    const failedIds = runCall(
      tracer,
      callEvent({
        status: "failure",
        error,
        usage: null,
        cost: null,
        attempts: [attempt({ outcome: "failure", error })],
      }),
    );
    const fallbackIds = runCall(
      tracer,
      callEvent(
        {
          fallbacks: 1,
          attempts: [
            attempt({ outcome: "failure", error: { type: "server_error", status: 502, message: "x" } }),
            attempt({ index: 1, deploymentId: "claude", provider: "anthropic", fallback: true }),
          ],
        },
        { callId: "fallback" },
      ),
    );
    await flushTracing();
    const spans = await receiver.waitForSpans(5);
    const failed = spans.find((span) => span.spanId === failedIds.spanId) as DecodedSpan;
    expect(failed.status).toEqual({ code: 2, message: "Upstream timed out" });
    expect(failed.attributes[A.ERROR_TYPE]).toBe("timeout");
    expect(failed.attributes[A.GEN_AI_USAGE_INPUT_TOKENS]).toBeUndefined();
    const children = spans.filter((span) => span.parentSpanId === fallbackIds.spanId);
    expect(children.map((span) => span.name).sort()).toEqual(["attempt claude", "attempt gpt4o-east"]);
    expect(children.every((span) => span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] === undefined)).toBe(true);
    const fallbackCall = spans.find((span) => span.spanId === fallbackIds.spanId) as DecodedSpan;
    expect(fallbackCall.attributes[A.GEN_AI_USAGE_INPUT_TOKENS]).toBe(1200);
  });

  it("Langfuse: Basic auth of PUBLIC:SECRET on /api/public/otel/v1/traces; OTEL_* headers are not sent there", async () => {
    const env = {
      LANGFUSE_BASE_URL: receiver.url,
      LANGFUSE_PUBLIC_KEY: "pk-lf-test",
      LANGFUSE_SECRET_KEY: "sk-lf-secret",
      // A collector credential that must never reach Langfuse.
      OTEL_EXPORTER_OTLP_HEADERS: "x-collector-token=collector-secret",
    };
    const previous = process.env.OTEL_EXPORTER_OTLP_HEADERS;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = "x-collector-token=collector-secret";
    try {
      addSpanExporter(langfuseExporter({ env }));
      runCall(getSharedCallTracer(), callEvent());
      await flushTracing();
      await receiver.waitForSpans(2);
    } finally {
      if (previous === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
      else process.env.OTEL_EXPORTER_OTLP_HEADERS = previous;
    }
    const request = receiver.requests[0];
    expect(request?.path).toBe("/api/public/otel/v1/traces");
    expect(request?.headers.authorization).toBe(
      `Basic ${Buffer.from("pk-lf-test:sk-lf-secret").toString("base64")}`,
    );
    expect(request?.headers["x-langfuse-ingestion-version"]).toBe("4");
    expect(request?.headers["x-collector-token"]).toBeUndefined();
    expect(request?.contentType).toBe("application/x-protobuf");
  });

  it("LANGFUSE_HOST works as the base URL, and missing keys are named in the error", () => {
    const exporter = langfuseExporter({
      env: {
        LANGFUSE_HOST: "https://langfuse.internal:3000/",
        LANGFUSE_PUBLIC_KEY: "pk",
        LANGFUSE_SECRET_KEY: "sk",
      },
    });
    expect(exporter.url).toBe("https://langfuse.internal:3000/api/public/otel/v1/traces");
    expect(() => langfuseExporter({ env: { LANGFUSE_PUBLIC_KEY: "pk" } })).toThrow(/LANGFUSE_SECRET_KEY/);
    expect(() => langfuseExporter({ env: {} })).toThrow(/LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY/);
  });

  it("otlpExporter reads OTEL_EXPORTER_OTLP_* (traces endpoint wins, headers decoded)", async () => {
    expect(otlpExporter({ env: {} }).url).toBe("http://localhost:4318/v1/traces");
    expect(otlpExporter({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" } }).url).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(
      otlpExporter({
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:9999/custom/v1/traces",
        },
      }).url,
    ).toBe("http://traces:9999/custom/v1/traces");

    addSpanExporter(
      otlpExporter({
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc%20def,x-team=core",
          OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=traces",
        },
      }),
    );
    runCall(getSharedCallTracer(), callEvent());
    await flushTracing();
    await receiver.waitForSpans(2);
    expect(receiver.requests[0]?.headers["x-api-key"]).toBe("abc def");
    expect(receiver.requests[0]?.headers["x-team"]).toBe("traces");
  });

  it("one exporter per endpoint: adding the same Langfuse exporter twice sends each span once", async () => {
    const env = { LANGFUSE_BASE_URL: receiver.url, LANGFUSE_PUBLIC_KEY: "pk", LANGFUSE_SECRET_KEY: "sk" };
    const first = addSpanExporter(langfuseExporter({ env }));
    const second = addSpanExporter(langfuseExporter({ env }));
    expect(first.added).toBe(true);
    expect(second.added).toBe(false);
    runCall(getSharedCallTracer(), callEvent());
    await flushTracing();
    await receiver.waitForSpans(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.spans).toHaveLength(2);
    // The first remove keeps it for the other user; the second shuts it down.
    await second.remove();
    expect(tracingStats()).toHaveLength(1);
    await first.remove();
    expect(tracingStats()).toHaveLength(0);
  });
});
