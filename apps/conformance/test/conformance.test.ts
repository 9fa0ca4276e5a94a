/**
 * The adapter conformance suite: the same HTTP tests (the official `openai` client, the Anthropic SDK for
 * /v1/messages, plain fetch) against every host framework (Express 4 and 5, Koa 2 and 3, Nest on Express
 * and on Fastify), each with and without the host's JSON body parser in front of the gateway. Upstream = the
 * @llmux/testing mock provider; the Prometheus plugin serves /metrics.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { GatewayOptions } from "@llmux/core";
import { prometheusPlugin } from "@llmux/prometheus";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ConformanceServer, frameworks } from "../src/index";

const MASTER_KEY = "sk-conformance-master-0123456789";
const UPSTREAM_KEY = "sk-conformance-upstream-abcdef";

let mock: MockProvider;
beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(async () => {
  await mock?.close();
});

function gatewayOptions(): GatewayOptions {
  const upstream = (base: string) => ({ api_base: `${base}/v1`, api_key: UPSTREAM_KEY });
  return {
    config: {
      model_list: [
        { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", ...upstream(mock.url) } },
        {
          model_name: "scripted",
          litellm_params: { model: "openai/gpt-4o", ...upstream(mock.scenarioUrl("scripted")) },
        },
        {
          model_name: "embedder",
          litellm_params: { model: "openai/text-embedding-3-small", ...upstream(mock.url) },
        },
      ],
      router_settings: { num_retries: 0, timeout: 5, cooldown_time: 0 },
      general_settings: { master_key: MASTER_KEY },
    },
    plugins: [prometheusPlugin()],
    quietOpenWarning: true,
  };
}

const cases = frameworks.flatMap((framework) =>
  [true, false].map((bodyParser) => ({
    label: `${framework.name}, ${bodyParser ? "with" : "without"} the host's body parser`,
    framework,
    bodyParser,
  })),
);

describe.each(cases)("$label", ({ framework, bodyParser }) => {
  let server: ConformanceServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await framework.start(gatewayOptions(), { bodyParser });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => mock.clear());

  it("completion: the upstream's reply and the x-llmux headers", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello" }] })
      .withResponse();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(upstream!.body.messages).toEqual([{ role: "user", content: "Say hello" }]);
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]!.message.content).toMatch(/\w+/);
    expect(response.headers.get("x-llmux-call-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("x-llmux-model-group")).toBe("gpt-4o");
    expect(response.headers.get("x-llmux-provider")).toBe("openai");
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBeGreaterThan(0);
  });

  it("stream: the assembled text equals what the upstream sent; the usage chunk only when asked", async () => {
    const text = "one two three four five six";
    mock.scenario("scripted", { content: text });
    const plain = await client.chat.completions.create({
      model: "scripted",
      stream: true,
      messages: [{ role: "user", content: "count" }],
    });
    let assembled = "";
    let usageChunks = 0;
    for await (const chunk of plain) {
      assembled += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usageChunks++;
    }
    expect(assembled).toBe(text);
    expect(usageChunks).toBe(0);

    const withUsage = await client.chat.completions.create({
      model: "scripted",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "count" }],
    });
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const chunk of withUsage) last = chunk;
    expect(last!.choices).toEqual([]);
    expect(last!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("messages: the Anthropic SDK gets a Message and a stream of events (OpenAI deployment, translated)", async () => {
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: "gpt-4o",
      max_tokens: 32,
      messages: [{ role: "user", content: "Say hello" }],
    });
    expect(message.type).toBe("message");
    expect(message.content[0]!.type).toBe("text");
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/chat/completions");

    mock.scenario("scripted", { content: "alpha beta gamma" });
    const stream = await anthropic.messages.create({
      model: "scripted",
      max_tokens: 32,
      stream: true,
      messages: [{ role: "user", content: "three words" }],
    });
    let text = "";
    for await (const event of stream)
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
    expect(text).toBe("alpha beta gamma");
  });

  it("embeddings", async () => {
    const result = await client.embeddings.create({ model: "embedder", input: ["a", "b"], dimensions: 3 });
    expect(result.data.map((item) => item.embedding.length)).toEqual([3, 3]);
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("models: the model groups with the key; 401 without it", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models.sort()).toEqual(["embedder", "gpt-4o", "scripted"]);
    const anonymous = await fetch(`${server.url}/v1/models`);
    expect(anonymous.status).toBe(401);
  });

  it("errors: unknown model → 404, wrong key → 401, both in OpenAI's format, no upstream call", async () => {
    const unknown = await client.chat.completions
      .create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found" });
    const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    const denied = await wrong.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(denied.error.type).toBe("authentication_error");
    expect(mock.requests).toHaveLength(0);
  });

  it("errors: malformed JSON → 400 in OpenAI's format", async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
      body: '{"model": "gpt-4o", "messages": [',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("not valid JSON");
    expect(mock.requests).toHaveLength(0);
  });

  it("client abort mid-stream → the upstream connection is closed", async () => {
    mock.scenario("scripted", { chunkDelayMs: 100 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "scripted", stream: true, messages: [{ role: "user", content: "long story" }] },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _chunk of stream) if (++chunks === 2) controller.abort();
    } catch {
      // the SDK may end the iteration or throw an abort error: either is the client going away
    }
    expect(chunks).toBe(2);
    const [request] = await mock.waitForRequests(1);
    expect(await request!.clientClosed).toBe(true);
    expect(request!.completed).toBe(false);
  });

  it(`the host's own routes ${bodyParser ? "get their parsed body" : "work"} beside the gateway`, async () => {
    expect(await (await fetch(`${server.url}/api/ping`)).json()).toEqual({ pong: true });
    const echo = await fetch(`${server.url}/api/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ note: "hello" }),
    });
    const { body } = (await echo.json()) as { body: unknown };
    // Nest on Fastify always parses JSON for its own routes (Fastify's built-in parser)
    if (bodyParser || framework.name === "Nest on Fastify") expect(body).toEqual({ note: "hello" });
    else expect(body).toBeNull();
  });

  it("health checks and the Prometheus /metrics route at the root", async () => {
    expect((await fetch(`${server.url}/health/liveliness`)).status).toBe(200);
    const readiness = (await (await fetch(`${server.url}/health/readiness`)).json()) as { status: string };
    expect(readiness.status).toBe("healthy");
    await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    await server.gateway.flush();
    // With a master key set, /metrics needs it like every other non-health route.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const text = await metrics.text();
    expect(text).toMatch(/llmux_requests_total\{[^}]*model_group="gpt-4o"[^}]*\} [1-9]/);
    expect(text).not.toContain(UPSTREAM_KEY);
  });
});
