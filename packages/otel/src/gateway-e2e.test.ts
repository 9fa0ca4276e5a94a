/**
 * End to end: an Express app that runs its own OpenTelemetry SDK (NodeTracerProvider + http and
 * express instrumentation), llmux mounted at /v1 with `callbacks: [langfuse_otel]` (so the gateway
 * loads this package through createPlugin), the mock provider as upstream and the OTLP receiver
 * as Langfuse. Real HTTP calls; then: the call span reached "Langfuse", is a child of the host's
 * HTTP SERVER span (same trace as the client's traceparent), and POST /v1/feedback scores it.
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { LlmuxConfig } from "@llmux/core";
import { llmux } from "@llmux/express";
import {
  type DecodedSpan,
  type MockProvider,
  type OtlpReceiver,
  startMockProvider,
  startOtlpReceiver,
} from "@llmux/testing";
import { SpanKind } from "@opentelemetry/api";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { ExpressInstrumentation } from "@opentelemetry/instrumentation-express";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type ExpressModule from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as A from "./attributes";
import { flushTracing, resetSharedTracing } from "./registry";

const hostExporter = new InMemorySpanExporter();
const hostProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(hostExporter)] });
let disableInstrumentations: () => void;
let mock: MockProvider;
let receiver: OtlpReceiver;
let server: Server;
let base = "";
let middleware: ReturnType<typeof llmux>;

beforeAll(async () => {
  // The host's tracing.ts: its SDK and instrumentations, before express is loaded.
  hostProvider.register();
  disableInstrumentations = registerInstrumentations({
    tracerProvider: hostProvider,
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
  });
  const express = createRequire(import.meta.url)("express") as typeof ExpressModule;

  mock = await startMockProvider();
  mock.scenario("down", { status: 500 });
  receiver = await startOtlpReceiver();
  const config: LlmuxConfig = {
    model_list: [
      {
        model_name: "gpt-4o",
        litellm_params: { model: "openai/gpt-4o", api_key: "sk-e2e-upstream", api_base: `${mock.url}/v1` },
        model_info: { id: "gpt4o-mock" },
      },
      {
        model_name: "broken",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_key: "sk-e2e-upstream",
          api_base: `${mock.scenarioUrl("down")}/v1`,
        },
        model_info: { id: "broken-1" },
      },
    ],
    router_settings: { num_retries: 0 },
    litellm_settings: { callbacks: ["langfuse_otel"] },
  };
  middleware = llmux({
    config,
    env: {
      LANGFUSE_BASE_URL: receiver.url,
      LANGFUSE_PUBLIC_KEY: "pk-lf-e2e",
      LANGFUSE_SECRET_KEY: "sk-lf-e2e",
    },
    quietOpenWarning: true,
  });
  await middleware.gateway.ready;
  const app = express();
  app.use(express.json());
  app.get("/api/ping", (_request, response) => {
    response.json({ pong: true });
  });
  app.use("/v1", middleware);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await middleware?.gateway.shutdown();
  disableInstrumentations?.();
  await hostProvider.shutdown();
  await resetSharedTracing();
  await mock?.close();
  await receiver?.close();
});

/** The chain of host spans from `spanId` up to the root. */
function ancestry(hostSpans: ReadableSpan[], spanId: string | undefined): ReadableSpan[] {
  const chain: ReadableSpan[] = [];
  let current = hostSpans.find((span) => span.spanContext().spanId === spanId);
  while (current) {
    chain.push(current);
    const parentId = current.parentSpanContext?.spanId;
    current = hostSpans.find((span) => span.spanContext().spanId === parentId);
  }
  return chain;
}

async function chat(body: Record<string, unknown>, traceparent?: string) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(traceparent ? { traceparent } : {}) },
    body: JSON.stringify(body),
  });
  return { response, text: await response.text() };
}

describe("Express + host OTel SDK + llmux + Langfuse", () => {
  it("a chat call: llmux's span nests under the host's HTTP SERVER span and reaches Langfuse", async () => {
    const clientTrace = "5bf92f3577b34da6a3ce929d0e0e4736";
    const { response, text } = await chat(
      {
        model: "gpt-4o",
        messages: [{ role: "user", content: "Hello there" }],
        user: "u-42",
        temperature: 0.3,
      },
      `00-${clientTrace}-10f067aa0ba902b7-01`,
    );
    expect(response.status).toBe(200);
    const completion = JSON.parse(text) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const callId = response.headers.get("x-llmux-call-id");
    expect(callId).toBeTruthy();
    await middleware.gateway.flush?.();
    await flushTracing();

    const spans = await receiver.waitForSpans(2);
    const call = spans.find((span) => span.name === "chat gpt-4o") as DecodedSpan;
    expect(call).toBeDefined();
    expect(call.path).toBe("/api/public/otel/v1/traces");
    expect(receiver.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from("pk-lf-e2e:sk-lf-e2e").toString("base64")}`,
    );
    // The client's trace continues through the host's SERVER span into llmux's CLIENT span.
    expect(call.traceId).toBe(clientTrace);
    const hostSpans = hostExporter.getFinishedSpans();
    const chain = ancestry(hostSpans, call.parentSpanId);
    expect(chain.length).toBeGreaterThan(0);
    console.log(
      `[e2e] llmux call span parent chain: ${chain.map((span) => `${span.name} (${SpanKind[span.kind]})`).join(" <- ")}`,
    );
    const serverSpan = chain.find((span) => span.kind === SpanKind.SERVER);
    expect(serverSpan).toBeDefined();
    expect(serverSpan?.spanContext().traceId).toBe(clientTrace);
    expect(serverSpan?.parentSpanContext?.spanId).toBe("10f067aa0ba902b7");
    // The host's pipeline did not receive llmux's spans (llmux exports them to Langfuse only).
    expect(hostSpans.some((span) => span.name === "chat gpt-4o")).toBe(false);

    expect(call.kindName).toBe("CLIENT");
    expect(call.attributes).toMatchObject({
      [A.GEN_AI_OPERATION_NAME]: "chat",
      [A.GEN_AI_PROVIDER_NAME]: "openai",
      [A.GEN_AI_REQUEST_MODEL]: "gpt-4o",
      [A.GEN_AI_REQUEST_TEMPERATURE]: 0.3,
      [A.GEN_AI_USAGE_INPUT_TOKENS]: completion.usage.prompt_tokens,
      [A.GEN_AI_USAGE_OUTPUT_TOKENS]: completion.usage.completion_tokens,
      [A.SERVER_ADDRESS]: "127.0.0.1",
      [A.USER_ID]: "u-42",
      [A.LLMUX_CALL_ID]: callId,
      [A.LANGFUSE_OBSERVATION_TYPE]: "generation",
    });
    expect(JSON.parse(String(call.attributes[A.GEN_AI_INPUT_MESSAGES]))).toEqual([
      { role: "user", parts: [{ type: "text", content: "Hello there" }] },
    ]);
    const attemptSpan = spans.find((span) => span.name === "attempt gpt4o-mock");
    expect(attemptSpan?.parentSpanId).toBe(call.spanId);
    expect(attemptSpan?.attributes).toMatchObject({
      [A.LLMUX_DEPLOYMENT_ID]: "gpt4o-mock",
      [A.GEN_AI_PROVIDER_NAME]: "openai",
      [A.SERVER_ADDRESS]: "127.0.0.1",
      [A.LLMUX_ATTEMPT_FALLBACK]: false,
      [A.LLMUX_ATTEMPT_OUTCOME]: "success",
    });
    expect(attemptSpan?.attributes[A.GEN_AI_USAGE_INPUT_TOKENS]).toBeUndefined();
    // No credential anywhere in what was exported.
    expect(JSON.stringify(spans)).not.toContain("sk-e2e-upstream");
  });

  it("a streamed call is traced with its time to first chunk", async () => {
    receiver.reset();
    const { response, text } = await chat({
      model: "gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Stream please" }],
    });
    expect(response.status).toBe(200);
    expect(text).toContain("data: [DONE]");
    await flushTracing();
    const spans = await receiver.waitForSpans(2);
    const call = spans.find((span) => span.name === "chat gpt-4o") as DecodedSpan;
    expect(call.attributes[A.GEN_AI_REQUEST_STREAM]).toBe(true);
    expect(typeof call.attributes[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]).toBe("number");
    expect(typeof call.attributes[A.LANGFUSE_OBSERVATION_COMPLETION_START_TIME]).toBe("string");
    expect(Number(call.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS])).toBeGreaterThan(0);
  });

  it("POST /v1/feedback with the x-llmux-call-id of a call scores that call in Langfuse", async () => {
    receiver.reset();
    const { response } = await chat({ model: "gpt-4o", messages: [{ role: "user", content: "Rate me" }] });
    const callId = response.headers.get("x-llmux-call-id");
    await flushTracing();
    const spans = await receiver.waitForSpans(2);
    const call = spans.find((span) => span.name === "chat gpt-4o") as DecodedSpan;

    const feedback = await fetch(`${base}/v1/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ call_id: callId, name: "thumbs", value: true, comment: "great" }),
    });
    expect(feedback.status).toBe(200);
    expect(await feedback.json()).toMatchObject({ trace_id: call.traceId, observation_id: call.spanId });
    expect(receiver.scores[0]?.body).toEqual({
      traceId: call.traceId,
      observationId: call.spanId,
      name: "thumbs",
      value: 1,
      comment: "great",
      dataType: "BOOLEAN",
    });

    const bad = await fetch(`${base}/v1/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ call_id: callId }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: "invalid_request_error", param: "name" } });
  });

  it("a failed call: the span has status ERROR and error.type, its attempt too", async () => {
    receiver.reset();
    const { response } = await chat({ model: "broken", messages: [{ role: "user", content: "fail" }] });
    expect(response.status).toBeGreaterThanOrEqual(500);
    await flushTracing();
    const spans = await receiver.waitForSpans(2);
    const call = spans.find((span) => span.name === "chat broken") as DecodedSpan;
    expect(call.status.code).toBe(2);
    expect(typeof call.attributes[A.ERROR_TYPE]).toBe("string");
    expect(call.attributes[A.LLMUX_STATUS_CODE]).toBe(response.status);
    const attemptSpan = spans.find((span) => span.parentSpanId === call.spanId) as DecodedSpan;
    expect(attemptSpan.status.code).toBe(2);
    expect(attemptSpan.attributes[A.LLMUX_ATTEMPT_UPSTREAM_STATUS]).toBe(500);
    console.log(`[e2e] failed call: HTTP ${response.status}, error.type ${call.attributes[A.ERROR_TYPE]}`);
  });
});
