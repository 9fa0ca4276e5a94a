/**
 * End to end, the README's set-up: a host with no OpenTelemetry of its own calls setupTracing()
 * (Langfuse from LANGFUSE_* variables), then loads Express and mounts llmux with
 * `callbacks: [langfuse_otel]`. The whole request — HTTP SERVER span, Express spans, llmux's call
 * and attempt spans — reaches "Langfuse" (the OTLP receiver) as one trace, once.
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { llmux } from "@llmux/express";
import {
  type DecodedSpan,
  type MockProvider,
  type OtlpReceiver,
  startMockProvider,
  startOtlpReceiver,
} from "@llmux/testing";
import type ExpressModule from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetSharedTracing, tracingStats } from "./registry";
import { setupTracing } from "./setup-tracing";
import type { TracingHandle } from "./types";

let mock: MockProvider;
let receiver: OtlpReceiver;
let tracing: TracingHandle;
let server: Server;
let base = "";
let middleware: ReturnType<typeof llmux>;

beforeAll(async () => {
  mock = await startMockProvider();
  receiver = await startOtlpReceiver();
  const env = {
    LANGFUSE_BASE_URL: receiver.url,
    LANGFUSE_PUBLIC_KEY: "pk-lf-app",
    LANGFUSE_SECRET_KEY: "sk-lf-app",
  };
  tracing = setupTracing({ serviceName: "shop-api", env });
  const express = createRequire(import.meta.url)("express") as typeof ExpressModule;
  middleware = llmux({
    config: {
      model_list: [
        {
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_key: "sk-upstream", api_base: `${mock.url}/v1` },
        },
      ],
      litellm_settings: { callbacks: ["langfuse_otel"] },
    },
    env,
    quietOpenWarning: true,
  });
  await middleware.gateway.ready;
  const app = express();
  app.use(express.json());
  app.use("/v1", middleware);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await middleware?.gateway.shutdown();
  await tracing?.shutdown();
  await resetSharedTracing();
  await mock?.close();
  await receiver?.close();
});

describe("setupTracing + Express + llmux", () => {
  it("one trace from the HTTP SERVER span down to the attempt, exported once to Langfuse", async () => {
    expect(tracing.hostProvider).toBe(false);
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await tracing.flush();

    const spans = await receiver.waitForSpans(3);
    // setupTracing's Langfuse exporter and the plugin's are one exporter.
    expect(tracingStats().map((stats) => stats.exporter)).toEqual(["langfuse"]);
    const call = spans.find((span) => span.name === "chat gpt-4o") as DecodedSpan;
    // (The mock provider and the receiver run in this process too, so their requests have SERVER
    // spans of their own, in other traces.)
    const serverSpan = spans.find(
      (span) => span.kindName === "SERVER" && span.traceId === call.traceId,
    ) as DecodedSpan;
    expect(serverSpan).toBeDefined();
    expect(serverSpan.name).toBe("POST /v1");
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const chain: DecodedSpan[] = [];
    for (
      let current = byId.get(call.parentSpanId ?? "");
      current;
      current = byId.get(current.parentSpanId ?? "")
    ) {
      chain.push(current);
    }
    console.log(
      `[e2e] exported chain: ${[call, ...chain].map((span) => `${span.name} (${span.kindName})`).join(" <- ")}`,
    );
    expect(chain.at(-1)?.spanId).toBe(serverSpan.spanId);
    expect(spans.every((span) => span.resource["service.name"] === "shop-api")).toBe(true);
    // Each span once.
    expect(new Set(spans.map((span) => span.spanId)).size).toBe(spans.length);
  });
});
