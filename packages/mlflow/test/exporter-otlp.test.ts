import { exportHealthStats, resetExportHealth } from "@llmux/callbacks";
import { ExportResultCode } from "@opentelemetry/core";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { type MlflowSpanExporter, mlflowExporter } from "../src/index";
import { collectingLogger, waitFor } from "./helpers";
import { makeCallSpans, makeRemoteChildSpan } from "./make-spans";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";
import { decodeOtlpSpans } from "./otlp-decode";

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

const fastRetry = { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 5 };

describe("mlflowExporter over OTLP", () => {
  it("resolves the experiment lazily, then posts protobuf to /v1/traces with x-mlflow-experiment-id and auth", async () => {
    server = await startMockMlflow();
    exporter = mlflowExporter({
      trackingUri: server.url,
      experimentName: "gateway",
      env: { MLFLOW_TRACKING_TOKEN: "t0ken" },
      logger: collectingLogger(),
    });
    // nothing is sent before the first export
    expect(server.requests).toHaveLength(0);
    const spans = makeCallSpans({ attempts: 2, user: "u-1" });
    expect(await exportNow(exporter, spans)).toBe(ExportResultCode.SUCCESS);
    await exporter.forceFlush();

    // sent: get-by-name (404) → create → POST /v1/traces → the trace info (StartTraceV3);
    // came back: experiment 100, 200 OK
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /api/2.0/mlflow/experiments/get-by-name",
      "POST /api/2.0/mlflow/experiments/create",
      "POST /v1/traces",
      "POST /api/3.0/mlflow/traces",
    ]);
    const otlp = server.requestsTo("/v1/traces")[0]!;
    expect(otlp.headers["content-type"]).toBe("application/x-protobuf");
    expect(otlp.headers["x-mlflow-experiment-id"]).toBe("100");
    expect(otlp.headers.authorization).toBe("Bearer t0ken");
    const decoded = decodeOtlpSpans(otlp.body);
    expect(decoded).toHaveLength(3);
    const call = decoded.find((span) => span.attributes["mlflow.spanType"] === "LLM")!;
    expect(call.name).toBe("chat gpt-4o");
    expect(JSON.parse(String(call.attributes["mlflow.chat.tokenUsage"]))).toEqual({
      input_tokens: 3,
      output_tokens: 2,
      total_tokens: 5,
    });
    const attempts = decoded.filter((span) => span !== call);
    expect(attempts.every((span) => span.parentSpanId === call.spanId)).toBe(true);
    expect(exporter.stats()).toMatchObject({
      mode: "otlp",
      experimentId: "100",
      exportedSpans: 3,
      droppedSpans: 0,
    });
  });

  it("uses MLFLOW_EXPERIMENT_ID without a lookup", async () => {
    server = await startMockMlflow();
    exporter = mlflowExporter({
      trackingUri: server.url,
      env: { MLFLOW_EXPERIMENT_ID: "42" },
      logger: collectingLogger(),
    });
    await exportNow(exporter, makeCallSpans());
    await exporter.forceFlush();
    expect(server.requests.map((request) => request.path)).toEqual(["/v1/traces", "/api/3.0/mlflow/traces"]);
    expect(server.requests[0]?.headers["x-mlflow-experiment-id"]).toBe("42");
  });

  it("works behind a real BatchSpanProcessor: spans ended by a tracer reach MLflow on provider flush", async () => {
    server = await startMockMlflow({ experiments: { llmux: "3" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, logger: collectingLogger() });
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
    const tracer = provider.getTracer("t");
    for (let index = 0; index < 5; index++)
      tracer.startSpan(`chat m${index}`, { attributes: { "mlflow.spanType": "LLM" } }).end();
    await provider.forceFlush();
    await exporter.forceFlush();
    const names = server
      .requestsTo("/v1/traces")
      .flatMap((request) => decodeOtlpSpans(request.body).map((span) => span.name));
    expect(names.sort()).toEqual(["chat m0", "chat m1", "chat m2", "chat m3", "chat m4"]);
    await provider.shutdown();
  });

  it("retries 503 with backoff and keeps the spans until the server takes them", async () => {
    let failures = 2;
    server = await startMockMlflow({
      experiments: { llmux: "1" },
      intercept: (request) =>
        request.path === "/v1/traces" && failures-- > 0 ? { status: 503, body: "busy" } : undefined,
    });
    exporter = mlflowExporter({
      trackingUri: server.url,
      env: {},
      retry: fastRetry,
      logger: collectingLogger(),
    });
    await exportNow(exporter, makeCallSpans());
    await waitFor(() => exporter!.stats().exportedSpans === 2);
    // sent three times: 503, 503, 200
    expect(server.requestsTo("/v1/traces")).toHaveLength(3);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 2, droppedSpans: 0, failedRequests: 2 });
  });

  it("buffers spans while the experiment cannot be resolved and retries the lookup", async () => {
    let lookupFailures = 3;
    server = await startMockMlflow({
      experiments: { llmux: "8" },
      intercept: (request) =>
        request.path.endsWith("/get-by-name") && lookupFailures-- > 0
          ? { status: 500, body: "{}" }
          : undefined,
    });
    const logger = collectingLogger();
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, retry: fastRetry, logger });
    await exportNow(exporter, makeCallSpans());
    await waitFor(() => exporter!.stats().exportedSpans === 2);
    expect(server.requestsTo("/api/2.0/mlflow/experiments/get-by-name")).toHaveLength(4);
    expect(server.requestsTo("/v1/traces")[0]?.headers["x-mlflow-experiment-id"]).toBe("8");
    expect(logger.text()).toContain("cannot resolve the experiment yet");
  });

  it("halves the batch on 413 and delivers everything", async () => {
    server = await startMockMlflow({
      experiments: { llmux: "1" },
      intercept: (request) =>
        request.path === "/v1/traces" && decodeOtlpSpans(request.body).length > 2
          ? { status: 413, body: "" }
          : undefined,
    });
    exporter = mlflowExporter({
      trackingUri: server.url,
      env: {},
      maxExportBatchSize: 8,
      logger: collectingLogger(),
    });
    const spans = [...makeCallSpans({ attempts: 3 }), ...makeCallSpans({ attempts: 3 })];
    await exportNow(exporter, spans);
    await exporter.forceFlush();
    const delivered = server
      .requestsTo("/v1/traces")
      .map((request) => decodeOtlpSpans(request.body).length)
      .filter((count) => count <= 2);
    expect(delivered.reduce((sum, count) => sum + count, 0)).toBe(8);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 8, droppedSpans: 0 });
  });

  it("drops (and counts) a batch the server rejects with 400", async () => {
    server = await startMockMlflow({
      experiments: { llmux: "1" },
      intercept: (request) => (request.path === "/v1/traces" ? { status: 400, body: "{}" } : undefined),
    });
    const logger = collectingLogger();
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, logger });
    await exportNow(exporter, makeCallSpans());
    await exporter.forceFlush();
    expect(exporter.stats()).toMatchObject({ exportedSpans: 0, droppedSpans: 2 });
    expect(logger.text()).toContain("rejected spans");
  });

  it("a server that rejects, then accepts: the outage and the recovery are logged once each, the loss counted", async () => {
    resetExportHealth();
    let rejecting = true;
    server = await startMockMlflow({
      experiments: { llmux: "1" },
      intercept: (request) =>
        rejecting && request.path === "/v1/traces" ? { status: 400, body: "{}" } : undefined,
    });
    const logger = collectingLogger();
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, logger });
    for (let index = 0; index < 2; index++) {
      await exportNow(exporter, makeCallSpans());
      await exporter.forceFlush();
    }
    const outage = () => logger.lines.filter((line) => line.message.startsWith("telemetry exporter"));
    expect(outage()).toHaveLength(1);
    expect(outage()[0]).toMatchObject({
      level: "error",
      message: expect.stringContaining('telemetry exporter "mlflow" is failing: spans are being dropped'),
    });
    rejecting = false;
    await exportNow(exporter, makeCallSpans());
    await exporter.forceFlush();
    expect(outage()).toHaveLength(2);
    expect(outage()[1]).toMatchObject({
      level: "info",
      message: 'telemetry exporter "mlflow" recovered: spans are delivered again',
      fields: { failedExports: 2, dropped_spans: 4 },
    });
    expect(
      exportHealthStats().find((stats) => stats.exporter === "mlflow" && stats.signal === "spans"),
    ).toMatchObject({ exported: 2, exportErrors: 2, dropped: { export_failed: 4 }, failing: 0 });
  });

  it("with the server down: export returns at once, drops past the buffer are counted, shutdown resolves", async () => {
    server = await startMockMlflow();
    const url = server.url;
    await server.close();
    server = undefined;
    const logger = collectingLogger();
    exporter = mlflowExporter({
      trackingUri: url,
      env: { MLFLOW_TRACKING_TOKEN: "never-logged" },
      maxBufferedSpans: 10,
      flushTimeoutMs: 200,
      retry: fastRetry,
      logger,
    });
    const results: number[] = [];
    // 25 spans in 5 exports: each callback is called synchronously, before any network I/O
    for (let index = 0; index < 5; index++) {
      let called = false;
      exporter.export(makeCallSpans({ attempts: 4 }), (result) => {
        called = true;
        results.push(result.code);
      });
      expect(called).toBe(true);
    }
    expect(results.every((code) => code === ExportResultCode.SUCCESS)).toBe(true);
    expect(exporter.stats()).toMatchObject({ bufferedSpans: 10, droppedSpans: 15 });
    await exporter.shutdown();
    expect(exporter.stats()).toMatchObject({ exportedSpans: 0, droppedSpans: 25, bufferedSpans: 0 });
    expect(exporter.stats().failedRequests).toBeGreaterThan(0);
    expect(logger.text()).toContain("ECONNREFUSED");
    expect(logger.text()).not.toContain("never-logged");
    // after shutdown, export refuses and counts
    const after = await exportNow(exporter, makeCallSpans());
    expect(after).toBe(ExportResultCode.FAILED);
    expect(exporter.stats().droppedSpans).toBe(27);
  });

  it("shutdown delivers what is buffered", async () => {
    server = await startMockMlflow({ experiments: { llmux: "1" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, logger: collectingLogger() });
    await exportNow(exporter, makeCallSpans({ attempts: 1 }));
    await exportNow(exporter, makeCallSpans({ attempts: 1 }));
    await exporter.shutdown();
    const delivered = server.requestsTo("/v1/traces").flatMap((request) => decodeOtlpSpans(request.body));
    expect(delivered).toHaveLength(4);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 4, droppedSpans: 0, bufferedSpans: 0 });
  });

  it("mode otlp drops (does not fall back) when the server has no /v1/traces", async () => {
    server = await startMockMlflow({ experiments: { llmux: "1" }, otlp: false });
    const logger = collectingLogger();
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, mode: "otlp", logger });
    await exportNow(exporter, makeCallSpans());
    await exporter.forceFlush();
    expect(server.requestsTo("/api/3.0/mlflow/traces")).toHaveLength(0);
    expect(exporter.stats()).toMatchObject({ mode: "otlp", droppedSpans: 2 });
    expect(logger.text()).toContain("no OTLP endpoint");
  });

  it("throws a config error at construction when no tracking URI is known", () => {
    expect(() => mlflowExporter({ env: {} })).toThrowError(/MLFLOW_TRACKING_URI is not set/);
  });

  it("sends a call span whose parent MLflow never gets (the host's HTTP span) as the trace root", async () => {
    server = await startMockMlflow({ experiments: { llmux: "1" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, logger: collectingLogger() });
    const spans = makeCallSpans({ attempts: 1, hostParent: true });
    const call = spans.at(-1)!;
    const hostSpanId = call.parentSpanContext!.spanId;
    await exportNow(exporter, spans);
    await exporter.forceFlush();
    const decoded = server.requestsTo("/v1/traces").flatMap((request) => decodeOtlpSpans(request.body));
    const sentCall = decoded.find((span) => span.spanId === call.spanContext().spanId)!;
    expect(sentCall.parentSpanId).toBeUndefined();
    expect(sentCall.attributes["llmux.parent_span_id"]).toBe(hostSpanId);
    expect(sentCall.traceId).toBe(call.spanContext().traceId);
    const attempt = decoded.find((span) => span !== sentCall)!;
    expect(attempt.parentSpanId).toBe(sentCall.spanId);
    // the exporter's input is left as it was
    expect(call.parentSpanContext?.spanId).toBe(hostSpanId);
  });

  it("keeps the local parent once host spans flow through the same exporter; always promotes remote parents", async () => {
    server = await startMockMlflow({ experiments: { llmux: "1" } });
    exporter = mlflowExporter({ trackingUri: server.url, env: {}, logger: collectingLogger() });
    const [attempt] = makeCallSpans({ attempts: 1 });
    const hostContext = attempt!.spanContext();
    // a host span (no llmux attributes) reaches the exporter: host instrumentation feeds llmux's provider
    const hostSpan = {
      ...attempt!,
      spanContext: () => hostContext,
      attributes: { "http.route": "/v1/chat" },
    } as ReadableSpan;
    const spans = makeCallSpans({ attempts: 0, hostParent: true });
    const remote = makeRemoteChildSpan({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 1,
    });
    await exportNow(exporter, [hostSpan, ...spans, remote]);
    await exporter.forceFlush();
    const decoded = server.requestsTo("/v1/traces").flatMap((request) => decodeOtlpSpans(request.body));
    expect(decoded.find((span) => span.spanId === spans[0]!.spanContext().spanId)?.parentSpanId).toBe(
      spans[0]!.parentSpanContext!.spanId,
    );
    const sentRemote = decoded.find((span) => span.spanId === remote.spanContext().spanId)!;
    expect(sentRemote.parentSpanId).toBeUndefined();
    expect(sentRemote.attributes["llmux.parent_span_id"]).toBe("b7ad6b7169203331");
  });

  it("promoteCallSpansToRoots: false sends parents unchanged", async () => {
    server = await startMockMlflow({ experiments: { llmux: "1" } });
    exporter = mlflowExporter({
      trackingUri: server.url,
      env: {},
      promoteCallSpansToRoots: false,
      logger: collectingLogger(),
    });
    const spans = makeCallSpans({ attempts: 0, hostParent: true });
    await exportNow(exporter, spans);
    await exporter.forceFlush();
    const [sent] = server.requestsTo("/v1/traces").flatMap((request) => decodeOtlpSpans(request.body));
    expect(sent?.parentSpanId).toBe(spans[0]!.parentSpanContext!.spanId);
    expect(sent?.attributes["llmux.parent_span_id"]).toBeUndefined();
  });
});
