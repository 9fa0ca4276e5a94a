/**
 * What a Langfuse user sees, end to end: setupTracing() (llmux's provider, the host's HTTP spans)
 * + Express + llmux with `callbacks: [langfuse_otel]`, LANGFUSE_TRACING_ENVIRONMENT and
 * LANGFUSE_RELEASE set, the mock provider upstream and the OTLP receiver as Langfuse. The exported
 * spans go through a port of Langfuse's own OTel ingestion (langfuse-ingestion-port.ts), and the
 * tests read the resulting traces and observations:
 * - the trace is in the configured environment with the release (not "default"), named after the
 *   route and model (not "POST"), with the call's input and output;
 * - `generation_name` renames the generation; an embedding's input is there;
 * - health probes and POST /v1/feedback make no trace; a score carries the environment.
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
import { ingestIntoLangfuse } from "./langfuse-ingestion-port";
import { resetSharedTracing } from "./registry";
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
    LANGFUSE_TRACING_ENVIRONMENT: "staging",
    LANGFUSE_RELEASE: "r42",
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
        {
          model_name: "embed",
          litellm_params: {
            model: "openai/text-embedding-3-small",
            api_key: "sk-upstream",
            api_base: `${mock.url}/v1`,
          },
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

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The spans of our app's traces (the mock provider and the receiver run in-process: their SERVER spans are left out). */
function appSpans(spans: DecodedSpan[]): DecodedSpan[] {
  const ours = new Set(spans.filter((span) => span.scope.name === "@llmux/otel").map((span) => span.traceId));
  return spans.filter((span) => ours.has(span.traceId));
}

interface Exported {
  spans: DecodedSpan[];
  ingested: ReturnType<typeof ingestIntoLangfuse>;
  chat: { callId: string; answer: string };
  namedCallId: string;
  embeddingCallId: string;
}

let exported: Promise<Exported> | undefined;

/** The calls, probes and feedback of every test below, made once, and what Langfuse made of them. */
function exportOnce(): Promise<Exported> {
  exported ??= (async () => {
    const chat = await post("/v1/chat/completions", {
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hello from the shop" }],
    });
    expect(chat.status).toBe(200);
    const answer = (await chat.json()) as { choices: Array<{ message: { content: string } }> };
    const named = await post("/v1/chat/completions", {
      model: "gpt-4o",
      messages: [{ role: "user", content: "Summarise ticket 7" }],
      metadata: { generation_name: "summarise-ticket" },
    });
    expect(named.status).toBe(200);
    await named.text();
    const embedding = await post("/v1/embeddings", { model: "embed", input: "the words to embed" });
    expect(embedding.status).toBe(200);
    await embedding.text();
    for (const path of ["/v1/health/liveliness", "/v1/health/readiness"]) {
      const probe = await fetch(`${base}${path}`);
      expect(probe.status).toBe(200);
      await probe.text();
    }
    const feedback = await post("/v1/feedback", {
      call_id: chat.headers.get("x-llmux-call-id"),
      name: "helpful",
      value: true,
    });
    expect(feedback.status).toBe(200);
    await feedback.text();
    await tracing.flush();
    // three calls: 3 call spans + 3 attempts + their HTTP SERVER spans (and Express's)
    const spans = await receiver.waitForSpans(9);
    return {
      spans,
      ingested: ingestIntoLangfuse(spans),
      chat: {
        callId: String(chat.headers.get("x-llmux-call-id")),
        answer: answer.choices[0]?.message.content ?? "?",
      },
      namedCallId: String(named.headers.get("x-llmux-call-id")),
      embeddingCallId: String(embedding.headers.get("x-llmux-call-id")),
    };
  })();
  return exported;
}

function callSpan(spans: DecodedSpan[], callId: string): DecodedSpan {
  const span = spans.find((candidate) => candidate.attributes["llmux.call_id"] === callId);
  if (!span) throw new Error(`no call span for ${callId}`);
  return span;
}

describe("Langfuse shows llmux's traces right", () => {
  it("the trace is in the configured environment, with the release (item 9)", async () => {
    const { spans, ingested, chat } = await exportOnce();
    const span = callSpan(spans, chat.callId);
    const trace = ingested.traces.get(span.traceId);
    console.log(`[langfuse] chat trace: ${JSON.stringify({ ...trace, input: "…", output: "…" })}`);
    expect(trace).toMatchObject({ environment: "staging", release: "r42" });
    // every observation of the trace is in the environment too (HTTP span and attempt included)
    const inTrace = ingested.observations.filter((observation) => observation.traceId === span.traceId);
    expect(inTrace.length).toBeGreaterThanOrEqual(3);
    expect(new Set(inTrace.map((observation) => observation.environment))).toEqual(new Set(["staging"]));
  });

  it("the trace is named after the route and model and has the call's input and output (item 10)", async () => {
    const { spans, ingested, chat, embeddingCallId } = await exportOnce();
    const trace = ingested.traces.get(callSpan(spans, chat.callId).traceId);
    expect(trace?.name).toBe("chat.completions gpt-4o");
    expect(JSON.stringify(trace?.input)).toContain("Hello from the shop");
    expect(JSON.stringify(trace?.output)).toContain(chat.answer);
    expect(ingested.traces.get(callSpan(spans, embeddingCallId).traceId)?.name).toBe("embeddings embed");
  });

  it("health probes and POST /v1/feedback make no trace (item 11)", async () => {
    const { spans } = await exportOnce();
    const servedPaths = spans
      .filter((span) => span.kindName === "SERVER")
      .map((span) => String(span.attributes["url.path"] ?? span.attributes["http.target"] ?? span.name));
    console.log(`[langfuse] SERVER spans: ${servedPaths.join(", ")}`);
    expect(servedPaths.filter((path) => /health|feedback/.test(path))).toEqual([]);
    // each of our traces is one of the three calls
    const ours = new Set(appSpans(spans).map((span) => span.traceId));
    expect(ours.size).toBe(3);
  });

  it("generation_name renames the generation, an embedding's input is there, a score has the environment (item 12)", async () => {
    const { spans, ingested, chat, namedCallId, embeddingCallId } = await exportOnce();
    const generation = ingested.observations.find(
      (observation) => observation.id === callSpan(spans, namedCallId).spanId,
    );
    expect(generation).toMatchObject({ type: "generation", name: "summarise-ticket" });
    const embedded = ingested.observations.find(
      (observation) => observation.id === callSpan(spans, embeddingCallId).spanId,
    );
    expect(embedded?.type).toBe("embedding");
    expect(JSON.stringify(embedded?.input)).toContain("the words to embed");
    expect(receiver.scores[0]?.body).toMatchObject({
      traceId: callSpan(spans, chat.callId).traceId,
      name: "helpful",
      environment: "staging",
    });
  });
});
