import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportHealthStats, resetExportHealth } from "@llmux/callbacks";
import { afterEach, describe, expect, it } from "vitest";
import { type MlflowRunLogger, mlflowRunLogger } from "../src/index";
import { splitLogBatch } from "../src/log-batch";
import { collectingLogger } from "./helpers";
import { makeCallEvent } from "./make-event";
import { LOG_BATCH_LIMITS, type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";

let server: MockMlflowServer | undefined;
let logger: MlflowRunLogger | undefined;
afterEach(async () => {
  await logger?.shutdown();
  await server?.close();
  server = undefined;
  logger = undefined;
});

describe("splitLogBatch", () => {
  it("keeps every request within 1000 metrics, 100 params, 100 tags and 1000 items", () => {
    const metrics = Array.from({ length: 2500 }, (_, index) => ({
      key: `m${index}`,
      value: index,
      timestamp: 1,
      step: 0,
    }));
    const tags = Array.from({ length: 250 }, (_, index) => ({ key: `t${index}`, value: "v" }));
    const params = Array.from({ length: 130 }, (_, index) => ({ key: `p${index}`, value: "v" }));
    const requests = splitLogBatch({ metrics, params, tags });
    for (const request of requests) {
      expect(request.metrics.length).toBeLessThanOrEqual(1000);
      expect(request.params.length).toBeLessThanOrEqual(100);
      expect(request.tags.length).toBeLessThanOrEqual(100);
      expect(request.metrics.length + request.params.length + request.tags.length).toBeLessThanOrEqual(1000);
    }
    expect(requests.flatMap((request) => request.metrics).map((metric) => metric.key)).toEqual(
      metrics.map((m) => m.key),
    );
    expect(requests.flatMap((request) => request.tags)).toHaveLength(250);
    expect(requests.flatMap((request) => request.params)).toHaveLength(130);
    // 2500 metrics + 250 tags + 130 params = 2880 items: 3 full-or-nearly requests of ≤ 1000
    expect(requests).toHaveLength(3);
  });

  it("sends nothing for nothing", () => {
    expect(splitLogBatch({ metrics: [], params: [], tags: [] })).toEqual([]);
  });
});

describe("mlflowRunLogger", () => {
  it("writes one run per call: create, log-batch with the metrics and tags, update FINISHED/FAILED", async () => {
    server = await startMockMlflow({ experiments: { llmux: "4" } });
    logger = mlflowRunLogger({
      trackingUri: server.url,
      env: {},
      logger: collectingLogger(),
      flushIntervalMs: 0,
    });
    const ok = makeCallEvent({ tags: ["prod", "beta"], session: "s-1" });
    const failed = makeCallEvent({
      status: "failure",
      usage: null,
      cost: null,
      costReason: "no usage",
      error: { type: "rate_limit", status: 429, message: "slow down", provider: "openai" },
    });
    logger.onSuccess(ok);
    logger.onFailure(failed);
    await logger.flush();

    expect(server.runs.size).toBe(2);
    const [first, second] = [...server.runs.values()];
    expect(first?.runName).toBe(`chat-${ok.callId}`);
    expect(first?.experimentId).toBe("4");
    expect(first?.status).toBe("FINISHED");
    expect(first?.endTime).toBe(ok.timings.endTime);
    const metrics = Object.fromEntries(first!.metrics.map((metric) => [metric.key, metric.value]));
    expect(metrics).toMatchObject({
      latency_ms: 250,
      prompt_tokens: 100,
      completion_tokens: 20,
      total_tokens: 120,
      cost_usd: 0.0004,
      cached_tokens: 40,
      overhead_ms: 10,
      attempts: 1,
    });
    expect(first?.tags).toMatchObject({
      status: "success",
      model: "gpt-4o-2024-08-06",
      request_id: ok.callId,
      user_id: "user-7",
      team_id: "team-blue",
      cache_hit: "true",
      model_group: "gpt-4o",
      provider: "openai",
      tags: "prod,beta",
      session_id: "s-1",
      "mlflow.source.name": "llmux",
    });
    expect(second?.status).toBe("FAILED");
    expect(second?.tags).toMatchObject({
      status: "failure",
      error_type: "rate_limit",
      error_status: "429",
      cost_reason: "no usage",
    });
    expect(second?.metrics.map((metric) => metric.key)).not.toContain("prompt_tokens");
    // no content leaves the process
    const bodies = server.requests.map((request) => request.body.toString("utf8")).join("\n");
    expect(bodies).not.toContain("secret prompt text");
    expect(bodies).not.toContain("secret answer text");
    expect(logger.stats()).toMatchObject({ sent: 2, dropped: 0, failed: 0, runs: 2, logBatchRequests: 2 });
  });

  it("batch mode: one run for many calls, metrics split across log-batch requests within the limits", async () => {
    server = await startMockMlflow({ experiments: { llmux: "4" } });
    logger = mlflowRunLogger({
      trackingUri: server.url,
      env: {},
      runPer: "batch",
      maxBatchSize: 150,
      flushIntervalMs: 0,
      logger: collectingLogger(),
    });
    // 150 calls × 10 metrics (no ttft) = 1500 metrics: more than one request can hold
    for (let index = 0; index < 150; index++) logger.onSuccess(makeCallEvent());
    await logger.flush();
    expect(server.runs.size).toBe(1);
    const run = [...server.runs.values()][0]!;
    expect(run.metrics).toHaveLength(1500);
    expect(run.metrics.filter((metric) => metric.key === "latency_ms").map((metric) => metric.step)).toEqual(
      Array.from({ length: 150 }, (_, index) => index),
    );
    expect(run.tags).toMatchObject({
      calls: "150",
      failures: "0",
      models: "gpt-4o-2024-08-06",
      "llmux.run_per": "batch",
    });
    const logBatches = server.requestsTo("/api/2.0/mlflow/runs/log-batch");
    expect(logBatches).toHaveLength(2);
    for (const request of logBatches) {
      const body = request.json as { metrics: unknown[]; tags: unknown[]; params: unknown[] };
      expect(body.metrics.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.metrics);
      expect(body.metrics.length + body.tags.length + body.params.length).toBeLessThanOrEqual(
        LOG_BATCH_LIMITS.total,
      );
    }
    expect(run.status).toBe("FINISHED");
  });

  it("resumes a run after a 503 without duplicating runs or metrics", async () => {
    let failures = 1;
    server = await startMockMlflow({
      experiments: { llmux: "4" },
      intercept: (request) =>
        request.path.endsWith("/runs/update") && failures-- > 0 ? { status: 503, body: "{}" } : undefined,
    });
    logger = mlflowRunLogger({
      trackingUri: server.url,
      env: {},
      flushIntervalMs: 0,
      retryBackoffMs: 5,
      logger: collectingLogger(),
    });
    logger.onSuccess(makeCallEvent());
    await logger.flush();
    expect(server.runs.size).toBe(1);
    const run = [...server.runs.values()][0]!;
    expect(run.metrics.filter((metric) => metric.key === "latency_ms")).toHaveLength(1);
    expect(run.status).toBe("FINISHED");
    expect(logger.stats()).toMatchObject({ sent: 1, retries: 1, runs: 1 });
  });

  it("with the server down: calls are dropped after retries and counted, flush and shutdown resolve", async () => {
    server = await startMockMlflow();
    const url = server.url;
    await server.close();
    server = undefined;
    const logs = collectingLogger();
    logger = mlflowRunLogger({
      trackingUri: url,
      env: { MLFLOW_TRACKING_PASSWORD: "pw-never-logged", MLFLOW_TRACKING_USERNAME: "u" },
      maxBufferSize: 3,
      maxRetries: 1,
      retryBackoffMs: 5,
      flushIntervalMs: 0,
      logger: logs,
    });
    for (let index = 0; index < 5; index++) logger.onSuccess(makeCallEvent());
    await logger.shutdown();
    expect(logger.stats()).toMatchObject({ sent: 0, dropped: 2, failed: 3 });
    expect(logs.text()).toContain("ECONNREFUSED");
    expect(logs.text()).not.toContain("pw-never-logged");
  });

  it("a server that fails, then recovers: the outage and the recovery are logged once each, the losses counted", async () => {
    resetExportHealth();
    let failing = true;
    server = await startMockMlflow({
      experiments: { llmux: "4" },
      intercept: () => (failing ? { status: 503, body: "{}" } : undefined),
    });
    const logs = collectingLogger();
    logger = mlflowRunLogger({
      trackingUri: server.url,
      env: {},
      maxRetries: 0,
      flushIntervalMs: 0,
      logger: logs,
    });
    for (let index = 0; index < 3; index++) {
      logger.onSuccess(makeCallEvent());
      await logger.flush();
    }
    const outage = () => logs.lines.filter((line) => line.message.startsWith("telemetry exporter"));
    expect(outage()).toHaveLength(1);
    expect(outage()[0]).toMatchObject({
      level: "error",
      message: expect.stringContaining('telemetry exporter "mlflow" is failing: runs are being dropped'),
    });
    expect(String(outage()[0]!.fields?.error)).toContain("503");
    failing = false;
    logger.onSuccess(makeCallEvent());
    await logger.flush();
    expect(server.runs.size).toBe(1);
    expect(outage()).toHaveLength(2);
    expect(outage()[1]).toMatchObject({
      level: "info",
      message: 'telemetry exporter "mlflow" recovered: runs are delivered again',
      fields: { failedExports: 3, dropped_runs: 3 },
    });
    expect(exportHealthStats().find((stats) => stats.signal === "runs")).toMatchObject({
      exporter: "mlflow",
      exported: 1,
      exportErrors: 3,
      dropped: { export_failed: 3 },
      failing: 0,
    });
  });

  it("shutdown with a server that never answers resolves by its deadline and logs the runs it dropped", async () => {
    const hanging = createServer((request) => void request.resume());
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const { port } = hanging.address() as AddressInfo;
    try {
      const logs = collectingLogger();
      const sink = mlflowRunLogger({
        trackingUri: `http://127.0.0.1:${port}`,
        experimentId: "1",
        env: {},
        flushIntervalMs: 0,
        logger: logs,
      });
      sink.onSuccess(makeCallEvent());
      sink.onSuccess(makeCallEvent());
      // the deadline is the only way out: the server holds every request (without it, this hangs)
      await sink.shutdown({ deadline: Date.now() + 200 });
      expect(sink.stats()).toMatchObject({ sent: 0, dropped: 2 });
      expect(logs.text()).toContain(
        'telemetry exporter "mlflow": 2 runs dropped at shutdown: not delivered by the shutdown deadline (a send was still waiting for an answer)',
      );
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it("refuses a 400 without retrying", async () => {
    server = await startMockMlflow({
      experiments: { llmux: "4" },
      intercept: (request) =>
        request.path.endsWith("/runs/create")
          ? { status: 400, body: JSON.stringify({ error_code: "INVALID_PARAMETER_VALUE", message: "bad" }) }
          : undefined,
    });
    logger = mlflowRunLogger({
      trackingUri: server.url,
      env: {},
      flushIntervalMs: 0,
      logger: collectingLogger(),
    });
    logger.onSuccess(makeCallEvent());
    await logger.flush();
    expect(server.requestsTo("/api/2.0/mlflow/runs/create")).toHaveLength(1);
    expect(logger.stats()).toMatchObject({ sent: 0, failed: 1, retries: 0 });
  });

  it("a sink wrapped with Object.create (as the gateway does for success_callback) still flushes what it got", async () => {
    server = await startMockMlflow({ experiments: { llmux: "4" } });
    logger = mlflowRunLogger({
      trackingUri: server.url,
      env: {},
      flushIntervalMs: 0,
      logger: collectingLogger(),
    });
    const wrapped = Object.assign(Object.create(logger) as MlflowRunLogger, { only: "success" as const });
    wrapped.onSuccess(makeCallEvent());
    await logger.flush();
    expect(server.runs.size).toBe(1);
  });
});
