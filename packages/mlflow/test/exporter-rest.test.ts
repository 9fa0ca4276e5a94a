import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { type MlflowSpanExporter, mlflowExporter } from "../src/index";
import { collectingLogger, waitFor } from "./helpers";
import { makeCallSpans, makeRemoteChildSpan } from "./make-spans";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";

let server: MockMlflowServer | undefined;
let exporter: MlflowSpanExporter | undefined;
afterEach(async () => {
  await exporter?.shutdown();
  await server?.close();
  server = undefined;
  exporter = undefined;
});

function exportNow(target: MlflowSpanExporter, spans: ReadableSpan[]): Promise<number> {
  return new Promise((resolve) => target.export(spans, (result) => resolve(result.code)));
}

interface SpanDict {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  start_time_unix_nano: number;
  status: { code: string };
  attributes: Record<string, string>;
}

const hex = (base64: string) => Buffer.from(base64, "base64").toString("hex");

describe("mlflowExporter REST trace API (MLflow 3.0–3.5)", () => {
  it("auto mode: a 404 on /v1/traces switches to StartTraceV3 + traces.json through the artifact proxy", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" }, otlp: false });
    const logger = collectingLogger();
    exporter = mlflowExporter({ trackingUri: server.url, env: { MLFLOW_TRACKING_TOKEN: "tk" }, logger });
    const spans = makeCallSpans({ attempts: 2, user: "alice" });
    const call = spans.at(-1)!;
    await exportNow(exporter, spans);
    await exporter.forceFlush();

    // sent: get-by-name, POST /v1/traces (404), POST /api/3.0/mlflow/traces, PUT artifact
    expect(
      server.requests.map((request) => `${request.method} ${request.path.replace(/tr-[0-9a-f]+/, "tr-X")}`),
    ).toEqual([
      "GET /api/2.0/mlflow/experiments/get-by-name",
      "POST /v1/traces",
      "POST /api/3.0/mlflow/traces",
      "PUT /api/2.0/mlflow-artifacts/artifacts/5/traces/tr-X/artifacts/traces.json",
    ]);
    expect(server.requests.every((request) => request.headers.authorization === "Bearer tk")).toBe(true);
    expect(logger.text()).toContain("using the REST trace API");

    const traceId = `tr-${call.spanContext().traceId}`;
    const info = server.traces.get(traceId)?.info as Record<string, unknown>;
    expect(info).toMatchObject({
      trace_id: traceId,
      trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: "5" } },
      state: "OK",
      request_preview: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
      trace_metadata: {
        "mlflow.trace_schema.version": "3",
        "mlflow.trace.user": "alice",
        "mlflow.trace.tokenUsage": JSON.stringify({ input_tokens: 3, output_tokens: 2, total_tokens: 5 }),
      },
      tags: { "mlflow.traceName": "chat gpt-4o" },
    });
    expect(String(info.execution_duration)).toMatch(/^\d+\.\d{3}s$/);

    const raw = server.artifacts.get(`5/traces/${traceId}/artifacts/traces.json`)!;
    const data = JSON.parse(raw) as { spans: SpanDict[] };
    expect(data.spans).toHaveLength(3);
    const root = data.spans.find((span) => span.parent_span_id === "")!;
    expect(hex(root.span_id)).toBe(call.spanContext().spanId);
    expect(hex(root.trace_id)).toBe(call.spanContext().traceId);
    // every attribute JSON-encoded as MLflow's SDK stores them; the trace request id on every span
    expect(root.attributes["mlflow.spanType"]).toBe('"LLM"');
    expect(JSON.parse(root.attributes["mlflow.spanInputs"]!)).toEqual({
      messages: [{ role: "user", content: "hi" }],
    });
    expect(root.attributes["gen_ai.usage.input_tokens"]).toBe("3");
    expect(
      data.spans.every((span) => span.attributes["mlflow.traceRequestId"] === JSON.stringify(traceId)),
    ).toBe(true);
    const children = data.spans.filter((span) => span !== root);
    expect(children.every((span) => span.parent_span_id === root.span_id)).toBe(true);
    expect(root.status.code).toBe("STATUS_CODE_UNSET");
    // nanosecond start time written as an exact integer (19 digits, beyond double precision)
    const expectedStart = BigInt(call.startTime[0]) * 1_000_000_000n + BigInt(call.startTime[1]);
    expect(raw).toContain(`"start_time_unix_nano":${expectedStart}`);
    expect(exporter.stats()).toMatchObject({
      mode: "rest",
      exportedSpans: 3,
      exportedTraces: 1,
      droppedSpans: 0,
    });
  });

  it("mode rest never calls /v1/traces; a failed call becomes state ERROR", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger: collectingLogger() });
    const spans = makeCallSpans({ failed: true });
    await exportNow(exporter, spans);
    await exporter.forceFlush();
    expect(server.requestsTo("/v1/traces")).toHaveLength(0);
    const info = server.traces.get(`tr-${spans.at(-1)!.spanContext().traceId}`)!.info;
    expect(info.state).toBe("ERROR");
    const data = JSON.parse([...server.artifacts.values()][0]!) as { spans: SpanDict[] };
    expect(data.spans.find((span) => span.parent_span_id === "")?.status.code).toBe("STATUS_CODE_ERROR");
  });

  it("waits for the call span when attempts arrive first in an earlier batch", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger: collectingLogger() });
    const spans = makeCallSpans({ attempts: 2, hostParent: true, withCallId: false });
    await exportNow(exporter, spans.slice(0, 2)); // the attempts only
    await exporter.forceFlush();
    expect(server.requestsTo("/api/3.0/mlflow/traces")).toHaveLength(0);
    await exportNow(exporter, spans.slice(2)); // the call span: it has buffered children, so it is the root
    await exporter.forceFlush();
    expect(server.requestsTo("/api/3.0/mlflow/traces")).toHaveLength(1);
    const data = JSON.parse([...server.artifacts.values()][0]!) as { spans: SpanDict[] };
    expect(data.spans).toHaveLength(3);
    // the call span's real parent (the host's HTTP span) is not in MLflow: it is written as the root
    expect(data.spans.filter((span) => span.parent_span_id === "").map((span) => hex(span.span_id))).toEqual([
      spans[2]!.spanContext().spanId,
    ]);
  });

  it("a call span (llmux.call_id) under a host span is a root at once, even without attempts", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger: collectingLogger() });
    const [call] = makeCallSpans({ attempts: 0, hostParent: true });
    await exportNow(exporter, [call!]);
    await exporter.forceFlush();
    expect(server.traces.size).toBe(1);
    // the call id becomes MLflow's client_request_id
    expect(server.traces.get(`tr-${call!.spanContext().traceId}`)?.info.client_request_id).toBe(
      call!.attributes["llmux.call_id"],
    );
  });

  it("writes a span group without a recognisable root after the assembly timeout", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({
      trackingUri: server.url,
      env: {},
      mode: "rest",
      traceAssemblyTimeoutMs: 50,
      logger: collectingLogger(),
    });
    await exportNow(exporter, makeCallSpans({ attempts: 0, hostParent: true, withCallId: false }));
    await exporter.forceFlush();
    expect(server.traces.size).toBe(0);
    await waitFor(() => exporter!.stats().exportedTraces === 1);
    expect(server.traces.size).toBe(1);
  });

  it("a span with a remote parent (client traceparent) is a root at once", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger: collectingLogger() });
    const span = makeRemoteChildSpan({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 1,
    });
    await exportNow(exporter, [span]);
    await exporter.forceFlush();
    expect([...server.traces.keys()]).toEqual(["tr-0af7651916cd43dd8448eb211c80319c"]);
  });

  it("two llmux calls in one host trace become two MLflow traces", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger: collectingLogger() });
    const first = makeCallSpans({ attempts: 1, hostParent: true });
    const second = makeCallSpans({ attempts: 1, hostParent: true });
    // same OTel trace id for both, as when a host handler calls the gateway twice
    const sameTrace = (spans: ReadableSpan[], traceId: string): ReadableSpan[] =>
      spans.map((span) => {
        const context = { ...span.spanContext(), traceId };
        const parent = span.parentSpanContext ? { ...span.parentSpanContext, traceId } : undefined;
        return { ...span, spanContext: () => context, parentSpanContext: parent } as ReadableSpan;
      });
    const traceId = first[0]!.spanContext().traceId;
    await exportNow(exporter, [...sameTrace(first, traceId), ...sameTrace(second, traceId)]);
    await exporter.forceFlush();
    expect(server.traces.size).toBe(2);
    const ids = [...server.traces.keys()];
    expect(ids).toContain(`tr-${traceId}`);
    expect(ids.every((id) => /^tr-[0-9a-f]{32}$/.test(id))).toBe(true);
    for (const { info } of server.traces.values()) {
      expect((info.tags as Record<string, string>)["llmux.otel_trace_id"]).toBe(traceId);
    }
  });

  it("retries only the upload when StartTraceV3 succeeded and the artifact PUT failed", async () => {
    let uploadFailures = 1;
    server = await startMockMlflow({
      experiments: { llmux: "5" },
      intercept: (request) =>
        request.method === "PUT" && uploadFailures-- > 0
          ? { status: 503, body: '{"error_code":"TEMPORARILY_UNAVAILABLE"}' }
          : undefined,
    });
    exporter = mlflowExporter({
      trackingUri: server.url,
      env: {},
      mode: "rest",
      retry: { initialDelayMs: 5, maxDelayMs: 10 },
      logger: collectingLogger(),
    });
    await exportNow(exporter, makeCallSpans());
    await waitFor(() => exporter!.stats().exportedTraces === 1);
    expect(server.requestsTo("/api/3.0/mlflow/traces")).toHaveLength(1);
    expect(server.requests.filter((request) => request.method === "PUT")).toHaveLength(2);
  });

  it("a server without the trace API (MLflow 2.x) drops and counts, and logs once why", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" }, otlp: false, traceApi: false });
    const logger = collectingLogger();
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, logger });
    await exportNow(exporter, makeCallSpans());
    await exportNow(exporter, makeCallSpans());
    await exporter.forceFlush();
    expect(exporter.stats()).toMatchObject({ mode: "rest", exportedSpans: 0, droppedSpans: 4 });
    // the second trace is dropped without asking the server again
    expect(server.requestsTo("/api/3.0/mlflow/traces")).toHaveLength(1);
    expect(logger.text()).toContain("needs MLflow ≥ 3.0");
  });

  it("a local file artifact root cannot be written: dropped with a clear reason", async () => {
    server = await startMockMlflow({
      experiments: { llmux: "5" },
      artifactLocation: (experimentId, traceId) =>
        `file:///srv/mlruns/${experimentId}/traces/${traceId}/artifacts`,
    });
    const logger = collectingLogger();
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger });
    await exportNow(exporter, makeCallSpans());
    await exporter.forceFlush();
    expect(exporter.stats()).toMatchObject({ exportedSpans: 0, droppedSpans: 2 });
    expect(logger.text()).toContain("--serve-artifacts");
  });

  it("spans without GenAI/MLflow attributes (host-only traces) are skipped, not dropped", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger: collectingLogger() });
    const [attempt] = makeCallSpans({ attempts: 1 });
    const context = attempt!.spanContext();
    const plain = {
      ...attempt!,
      spanContext: () => context,
      attributes: {},
      parentSpanContext: undefined,
    } as ReadableSpan;
    await exportNow(exporter, [plain]);
    await exporter.forceFlush();
    expect(server.traces.size).toBe(0);
    expect(exporter.stats()).toMatchObject({ skippedSpans: 1, droppedSpans: 0 });
  });

  it("shutdown writes groups still waiting for their root", async () => {
    server = await startMockMlflow({ experiments: { llmux: "5" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "rest", logger: collectingLogger() });
    const spans = makeCallSpans({ attempts: 2, hostParent: true });
    await exportNow(exporter, spans.slice(0, 2)); // attempts whose call span never comes
    await exporter.shutdown();
    expect(server.traces.size).toBe(1);
    const data = JSON.parse([...server.artifacts.values()][0]!) as { spans: SpanDict[] };
    expect(data.spans.map((span) => span.parent_span_id)).toEqual(["", ""]);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 2, droppedSpans: 0 });
  });
});
