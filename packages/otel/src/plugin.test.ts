/**
 * createPlugin for "otel", "langfuse_otel" and "langfuse", and the POST /feedback route served
 * on a real HTTP server, scoring into the receiver's mock of Langfuse's score API.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { LlmuxPlugin, Logger, PluginFactoryContext } from "@llmux/callbacks";
import { type OtlpReceiver, startOtlpReceiver } from "@llmux/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as A from "./attributes";
import { isLlmuxOtelError } from "./errors";
import { langfuseFeedback } from "./langfuse-feedback";
import { createPlugin } from "./plugin";
import { flushTracing, resetSharedTracing } from "./registry";
import { callEvent, runCall } from "./test-fixtures";

let receiver: OtlpReceiver;
const servers: Server[] = [];

interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

function context(env: Record<string, string | undefined>, redact = false, settings = {}) {
  const lines: LogLine[] = [];
  const logger: Logger = {
    debug: (message, fields) => lines.push({ level: "debug", message, fields }),
    info: (message, fields) => lines.push({ level: "info", message, fields }),
    warn: (message, fields) => lines.push({ level: "warn", message, fields }),
    error: (message, fields) => lines.push({ level: "error", message, fields }),
  };
  const factoryContext: PluginFactoryContext = { logger, env, settings, redact };
  return { factoryContext, lines };
}

function langfuseEnv(): Record<string, string> {
  return { LANGFUSE_BASE_URL: receiver.url, LANGFUSE_PUBLIC_KEY: "pk-lf-1", LANGFUSE_SECRET_KEY: "sk-lf-1" };
}

/** Serves a plugin's routes under /v1 on 127.0.0.1, the way the gateway mounts them. */
async function serve(plugin: LlmuxPlugin): Promise<string> {
  const server = createServer((request, response) => {
    const route = plugin.routes?.find(
      (item) => `/v1${item.path}` === request.url && item.method === request.method,
    );
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    Promise.resolve(route.handle(request, response)).catch(() => response.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await resetSharedTracing();
  receiver.reset();
});
afterAll(async () => {
  await receiver.close();
});

describe("createPlugin", () => {
  it("langfuse_otel exports call spans to Langfuse and says so in the log", async () => {
    const { factoryContext, lines } = context(langfuseEnv());
    const plugin = await createPlugin("langfuse_otel", factoryContext);
    expect(plugin.name).toBe("langfuse_otel");
    expect(plugin.routes?.map((route) => `${route.method} ${route.path}`)).toEqual(["POST /feedback"]);
    runCall(plugin.tracer!, callEvent());
    await plugin.flush?.();
    const spans = await receiver.waitForSpans(2);
    expect(receiver.requests[0]?.path).toBe("/api/public/otel/v1/traces");
    // captureContent defaults to true unless redaction is on.
    const call = spans.find((span) => span.name === "chat gpt-4o");
    expect(call?.attributes[A.GEN_AI_INPUT_MESSAGES]).toBeDefined();
    expect(lines).toContainEqual({
      level: "info",
      message: "Langfuse tracing enabled",
      fields: { endpoint: receiver.url, callback: "langfuse_otel" },
    });
    expect(JSON.stringify(lines)).not.toContain("sk-lf-1");
    await plugin.shutdown?.();
  });

  it("a missing Langfuse key is a clear error naming the variables", () => {
    const { factoryContext } = context({ LANGFUSE_PUBLIC_KEY: "pk" });
    let caught: unknown;
    try {
      createPlugin("langfuse_otel", factoryContext);
    } catch (error) {
      caught = error;
    }
    expect(isLlmuxOtelError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/LANGFUSE_SECRET_KEY/);
    expect((caught as Error).message).not.toMatch(/LANGFUSE_PUBLIC_KEY and/);
  });

  it("'langfuse' is an alias with a warning; redaction turns content capture off for the shared tracer", async () => {
    const { factoryContext, lines } = context(langfuseEnv(), true);
    const plugin = await createPlugin("langfuse", factoryContext);
    expect(lines.some((line) => line.level === "warn" && line.message.includes("langfuse_otel"))).toBe(true);
    runCall(plugin.tracer!, callEvent());
    await flushTracing();
    const spans = await receiver.waitForSpans(2);
    const call = spans.find((span) => span.name === "chat gpt-4o");
    expect(call?.attributes[A.GEN_AI_INPUT_MESSAGES]).toBeUndefined();
    expect(call?.attributes[A.MLFLOW_SPAN_OUTPUTS]).toBeUndefined();
    await plugin.shutdown?.();
  });

  it("otel and langfuse_otel share ONE tracer: one span per call, delivered to both endpoints", async () => {
    const env = { ...langfuseEnv(), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const otel = await createPlugin("otel", context(env).factoryContext);
    const langfuse = await createPlugin("langfuse_otel", context(env).factoryContext);
    expect(otel.tracer).toBe(langfuse.tracer);
    const ids = runCall(otel.tracer!, callEvent());
    await flushTracing();
    const spans = await receiver.waitForSpans(4);
    const calls = spans.filter((span) => span.name === "chat gpt-4o");
    expect(calls.map((span) => span.path).sort()).toEqual(["/api/public/otel/v1/traces", "/v1/traces"]);
    expect(calls.every((span) => span.spanId === ids.spanId)).toBe(true);
    await otel.shutdown?.();
    await langfuse.shutdown?.();
  });

  it("otel without an endpoint warns that it exports to localhost:4318; unknown names are refused", async () => {
    const { factoryContext, lines } = context({});
    const plugin = await createPlugin("otel", factoryContext);
    expect(lines.some((line) => line.level === "warn" && line.message.includes("localhost:4318"))).toBe(true);
    expect(plugin.routes).toBeUndefined();
    await plugin.shutdown?.();
    expect(() => createPlugin("datadog", factoryContext)).toThrow(/no plugin named 'datadog'/);
  });
});

describe("POST /feedback", () => {
  it("call_id → the call's trace and span: a Langfuse score with Basic auth", async () => {
    const plugin = await createPlugin("langfuse_otel", context(langfuseEnv()).factoryContext);
    const ids = runCall(plugin.tracer!, callEvent({}, { callId: "call-feedback" }));
    const base = await serve(plugin);

    const reply = await post(`${base}/feedback`, {
      call_id: "call-feedback",
      name: "user-rating",
      value: 1,
      comment: "helpful",
    });
    // What was sent: a thumbs-up for call-feedback. What came back: 200 and the score id.
    expect(reply).toEqual({
      status: 200,
      json: { status: "ok", trace_id: ids.traceId, observation_id: ids.spanId, score_id: "score-1" },
    });
    expect(receiver.scores).toHaveLength(1);
    expect(receiver.scores[0]?.body).toEqual({
      traceId: ids.traceId,
      observationId: ids.spanId,
      name: "user-rating",
      value: 1,
      comment: "helpful",
      dataType: "NUMERIC",
    });
    expect(receiver.scores[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from("pk-lf-1:sk-lf-1").toString("base64")}`,
    );
    await plugin.shutdown?.();
  });

  it("trace_id directly, boolean and categorical values", async () => {
    const plugin = await createPlugin("langfuse_otel", context(langfuseEnv()).factoryContext);
    const base = await serve(plugin);
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    expect((await post(`${base}/feedback`, { trace_id: traceId, name: "thumbs", value: true })).status).toBe(
      200,
    );
    expect(
      (await post(`${base}/feedback`, { trace_id: traceId, name: "tone", value: "polite" })).status,
    ).toBe(200);
    expect(receiver.scores.map((score) => score.body)).toEqual([
      { traceId, name: "thumbs", value: 1, dataType: "BOOLEAN" },
      { traceId, name: "tone", value: "polite", dataType: "CATEGORICAL" },
    ]);
    await plugin.shutdown?.();
  });

  it("bad bodies get 400 in OpenAI's error shape; an unknown call_id gets 404; Langfuse down gets 502", async () => {
    const plugin = await createPlugin("langfuse_otel", context(langfuseEnv()).factoryContext);
    const base = await serve(plugin);

    const notJson = await post(`${base}/feedback`, "{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.json).toEqual({
      error: {
        message: "Request body is not valid JSON",
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
    const noName = await post(`${base}/feedback`, { call_id: "x", value: 1 });
    expect(noName).toMatchObject({
      status: 400,
      json: { error: { param: "name", type: "invalid_request_error" } },
    });
    const badValue = await post(`${base}/feedback`, { call_id: "x", name: "n", value: { nested: 1 } });
    expect(badValue).toMatchObject({ status: 400, json: { error: { param: "value" } } });
    const noTarget = await post(`${base}/feedback`, { name: "n", value: 1 });
    expect(noTarget).toMatchObject({ status: 400, json: { error: { param: "call_id" } } });
    const badTrace = await post(`${base}/feedback`, { trace_id: "xyz", name: "n", value: 1 });
    expect(badTrace).toMatchObject({ status: 400, json: { error: { param: "trace_id" } } });
    const unknown = await post(`${base}/feedback`, { call_id: "never-seen", name: "n", value: 1 });
    expect(unknown).toMatchObject({
      status: 404,
      json: { error: { code: "call_not_found", param: "call_id" } },
    });
    expect(receiver.scores).toHaveLength(0);

    receiver.failNext(500);
    const down = await post(`${base}/feedback`, {
      trace_id: "0af7651916cd43dd8448eb211c80319c",
      name: "n",
      value: 1,
    });
    expect(down).toMatchObject({
      status: 502,
      json: { error: { type: "api_error", code: "feedback_failed" } },
    });
    expect(JSON.stringify(down.json)).not.toContain("sk-lf-1");
    await plugin.shutdown?.();
  });

  it("langfuseFeedback can be used on its own", async () => {
    const feedback = langfuseFeedback({ baseUrl: `${receiver.url}/`, publicKey: "pk", secretKey: "sk" });
    const result = await feedback.score({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      observationId: "b7ad6b7169203331",
      name: "accuracy",
      value: 0.75,
    });
    expect(result).toEqual({ id: "score-1" });
    expect(receiver.requests[0]?.path).toBe("/api/public/scores");
    expect(() => langfuseFeedback({ baseUrl: "", publicKey: "pk", secretKey: "" })).toThrow(
      /baseUrl, secretKey/,
    );
  });
});
