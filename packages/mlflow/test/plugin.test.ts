import type { PluginFactoryContext } from "@llmux/callbacks";
import { afterEach, describe, expect, it } from "vitest";
import type { LlmuxPlugin } from "../src/contracts";
import { createMlflowPlugin, createPlugin } from "../src/index";
import { collectingLogger } from "./helpers";
import { makeCallEvent } from "./make-event";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";
import { decodeOtlpSpans } from "./otlp-decode";

let server: MockMlflowServer | undefined;
let plugin: LlmuxPlugin | undefined;
afterEach(async () => {
  await plugin?.shutdown?.();
  await server?.close();
  server = undefined;
  plugin = undefined;
});

function context(
  env: Record<string, string | undefined>,
  settings: Record<string, unknown> = {},
  redact = false,
) {
  const logger = collectingLogger();
  const value: PluginFactoryContext = { logger, env, settings, redact };
  return { value, logger };
}

/** Runs one call through the plugin's tracer the way the gateway does. */
function traceOneCall(target: LlmuxPlugin) {
  const event = makeCallEvent();
  const trace = target.tracer!.startCall(event, {});
  const attempt = trace.startAttempt({
    index: 0,
    deploymentId: "gpt4o-east",
    provider: "openai",
    model: "gpt-4o",
    fallback: false,
    startTime: event.startTime + 5,
  });
  attempt.end(event.attempts[0]!);
  trace.end(event);
  return { event, traceId: trace.traceId, spanId: trace.spanId };
}

describe("createPlugin('mlflow')", () => {
  it("adds the exporter to the shared provider: a traced call reaches /v1/traces with the MLflow attributes", async () => {
    server = await startMockMlflow();
    const { value, logger } = context({
      MLFLOW_TRACKING_URI: server.url,
      MLFLOW_EXPERIMENT_NAME: "prod-gateway",
    });
    plugin = await createPlugin("mlflow", value);
    expect(plugin.name).toBe("mlflow");
    expect(plugin.sink).toBeUndefined();
    const call = traceOneCall(plugin);
    await plugin.flush?.();

    expect([...server.experiments.keys()]).toEqual(["prod-gateway"]);
    const otlp = server.requestsTo("/v1/traces");
    expect(otlp.length).toBeGreaterThan(0);
    expect(otlp[0]?.headers["x-mlflow-experiment-id"]).toBe("100");
    const spans = otlp.flatMap((request) => decodeOtlpSpans(request.body));
    const callSpan = spans.find((span) => span.spanId === call.spanId)!;
    expect(callSpan.traceId).toBe(call.traceId);
    expect(callSpan.attributes["mlflow.spanType"]).toBe("CHAT_MODEL");
    expect(callSpan.attributes["llmux.call_id"]).toBe(call.event.callId);
    expect(JSON.parse(String(callSpan.attributes["mlflow.chat.tokenUsage"]))).toMatchObject({
      input_tokens: 100,
      output_tokens: 20,
      total_tokens: 120,
    });
    // content is captured unless redaction is on
    expect(String(callSpan.attributes["mlflow.spanInputs"])).toContain("secret prompt text");
    expect(spans.some((span) => span.parentSpanId === call.spanId)).toBe(true);
    expect(logger.text()).toContain("MLflow tracing enabled");
  });

  it("mlflow_log_runs: true adds a run-logging sink", async () => {
    server = await startMockMlflow({ experiments: { llmux: "2" } });
    const { value } = context(
      { MLFLOW_TRACKING_URI: server.url },
      { mlflow_log_runs: true, mlflow_run_per: "call" },
    );
    plugin = await createPlugin("mlflow", value);
    expect(plugin.sink?.name).toBe("mlflow");
    await plugin.sink?.onSuccess?.(makeCallEvent());
    await plugin.flush?.();
    expect(server.runs.size).toBe(1);
    expect([...server.runs.values()][0]?.tags.status).toBe("success");
  });

  it("with turn_off_message_logging no prompt or response content is exported", async () => {
    server = await startMockMlflow({ experiments: { llmux: "2" } });
    const { value } = context({ MLFLOW_TRACKING_URI: server.url }, {}, true);
    plugin = await createPlugin("mlflow", value);
    traceOneCall(plugin);
    await plugin.flush?.();
    const bodies = server
      .requestsTo("/v1/traces")
      .map((request) => Buffer.from(request.body).toString("latin1"));
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies.join("")).not.toContain("secret prompt text");
    expect(bodies.join("")).not.toContain("secret answer text");
  });

  it("a missing MLFLOW_TRACKING_URI is a clear start-up error", async () => {
    const { value } = context({});
    await expect(async () => createPlugin("mlflow", value)).rejects.toThrow(
      /callback 'mlflow' needs MLFLOW_TRACKING_URI/,
    );
  });

  it("bad settings and names are start-up errors", async () => {
    await expect(async () =>
      createPlugin("mlflow", context({ MLFLOW_TRACKING_URI: "file:///tmp/mlruns" }).value),
    ).rejects.toThrow(/scheme "file:" is not supported/);
    await expect(async () =>
      createPlugin(
        "mlflow",
        context({ MLFLOW_TRACKING_URI: "http://x" }, { mlflow_export_mode: "grpc" }).value,
      ),
    ).rejects.toThrow(/mlflow_export_mode must be one of auto, otlp, rest/);
    await expect(async () =>
      createPlugin("otel", context({ MLFLOW_TRACKING_URI: "http://x" }).value),
    ).rejects.toThrow(/no plugin named 'otel'/);
  });

  it("a down tracking server does not fail start-up or calls; drops are counted by the exporter", async () => {
    server = await startMockMlflow();
    const url = server.url;
    await server.close();
    server = undefined;
    const { value } = context({ MLFLOW_TRACKING_URI: url }, { mlflow_flush_timeout_ms: 300 });
    const mlflow = createMlflowPlugin("mlflow", value);
    plugin = mlflow;
    // the gateway's calls go on: tracing a call is synchronous and does not throw
    expect(() => traceOneCall(mlflow)).not.toThrow();
    await mlflow.shutdown?.();
    plugin = undefined;
    expect(mlflow.stats().exporter).toMatchObject({ exportedSpans: 0, droppedSpans: 2, bufferedSpans: 0 });
    expect(mlflow.stats().exporter.failedRequests).toBeGreaterThan(0);
  });
});
