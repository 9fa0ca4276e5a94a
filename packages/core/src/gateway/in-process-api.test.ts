/**
 * The in-process API against a real upstream (the @llmux/testing mock provider on port 0): the same
 * router, hooks, callback events and x-llmux headers as the HTTP routes, with no HTTP server of ours.
 */
import type { IncomingMessage } from "node:http";
import type Anthropic from "@anthropic-ai/sdk";
import type { CallbackSink, CallEvent, CallStartEvent } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import type OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isLlmuxError } from "../errors/llmux-error";
import { createGateway, type Gateway } from "./create-gateway";
import { callInfo, createGatewayClient, type GatewayClient } from "./in-process-api";

const UPSTREAM_KEY = "sk-upstream-in-process-0123456789";

let mock: MockProvider;
let gateway: Gateway;
let client: GatewayClient;
const started: CallStartEvent[] = [];
const ended: CallEvent[] = [];
const hookSaw: Array<{ callType: string; modelGroup: string; request: unknown }> = [];

const sink: CallbackSink = {
  name: "memory",
  onStart: (event) => void started.push(event),
  onSuccess: (event) => void ended.push(event),
  onFailure: (event) => void ended.push(event),
};

beforeAll(async () => {
  mock = await startMockProvider();
  gateway = createGateway({
    config: {
      model_list: [
        {
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1`, api_key: UPSTREAM_KEY },
        },
        {
          model_name: "scripted",
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: `${mock.scenarioUrl("scripted")}/v1`,
            api_key: UPSTREAM_KEY,
          },
        },
        {
          model_name: "claude",
          litellm_params: {
            model: "anthropic/claude-sonnet-4-20250514",
            api_base: mock.url,
            api_key: UPSTREAM_KEY,
          },
        },
        {
          model_name: "embedder",
          litellm_params: {
            model: "openai/text-embedding-3-small",
            api_base: `${mock.url}/v1`,
            api_key: UPSTREAM_KEY,
          },
        },
      ],
      router_settings: { num_retries: 0, timeout: 5, cooldown_time: 0 },
    },
    sinks: [sink],
    quietOpenWarning: true,
    hooks: [
      {
        beforeCall: (context) => {
          hookSaw.push({
            callType: context.callType,
            modelGroup: context.modelGroup,
            request: context.request,
          });
          return undefined;
        },
      },
    ],
    resolveContext: (request) => ({ team: String(request.headers["x-team"] ?? "none") }),
  });
  client = createGatewayClient(gateway);
});

afterAll(async () => {
  await gateway?.shutdown();
  await mock?.close();
});

beforeEach(async () => {
  await gateway.flush(); // events of the previous test are delivered before the lists are emptied
  mock.clear();
  started.length = 0;
  ended.length = 0;
  hookSaw.length = 0;
});

describe("chat.completions.create", () => {
  it("returns the upstream's OpenAI-shaped completion and the call's x-llmux headers", async () => {
    const completion = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Say hello" }],
      user: "alice",
      metadata: { session_id: "s-1", tags: ["in-process"], feature: "summary" },
    });
    const [upstream] = await mock.waitForRequests(1);
    // what went upstream: the provider model with the deployment's key
    expect(upstream!.path).toBe("/v1/chat/completions");
    expect(upstream!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(upstream!.body.model).toBe("gpt-4o");
    // what came back: a chat.completion with usage
    expect(completion.object).toBe("chat.completion");
    expect(String((completion.choices[0]!.message as { content: string }).content)).toMatch(/\w+/);
    const info = callInfo(completion)!;
    expect(info.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(info.headers["x-llmux-model-group"]).toBe("gpt-4o");
    expect(info.headers["x-llmux-provider"]).toBe("openai");
    expect(info.headers["x-llmux-attempts"]).toBe("1");
    expect(Number(info.headers["x-llmux-response-cost"])).toBeGreaterThan(0);
    // the call info stays out of JSON
    expect(JSON.stringify(completion)).not.toContain("x-llmux");
    // the same events as an HTTP call, with the context from user and metadata
    await gateway.flush();
    expect(started).toHaveLength(1);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.callId).toBe(info.callId);
    expect(ended[0]!.status).toBe("success");
    expect(ended[0]!.user).toBe("alice");
    expect(ended[0]!.session).toBe("s-1");
    expect(ended[0]!.tags).toEqual(["in-process"]);
    expect(ended[0]!.metadata).toEqual({ feature: "summary" });
    expect(ended[0]!.cost?.total).toBeGreaterThan(0);
    expect(info.event?.callId).toBe(info.callId);
    expect(hookSaw).toEqual([{ callType: "chat", modelGroup: "gpt-4o", request: undefined }]);
  });

  it("streams as an async iterable of chunks; the usage chunk (with cost) only when asked", async () => {
    const text = "alpha beta gamma delta epsilon";
    mock.scenario("scripted", { content: text });
    const stream = await client.chat.completions.create({
      model: "scripted",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "count" }],
    });
    let assembled = "";
    let last: Record<string, unknown> | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      assembled += String((chunk.choices[0]?.delta as { content?: string } | undefined)?.content ?? "");
      last = chunk;
    }
    expect(assembled).toBe(text);
    expect(last!.choices).toEqual([]);
    expect((last!.usage as { completion_tokens: number }).completion_tokens).toBeGreaterThan(0);
    expect(typeof (last!.usage as { cost: unknown }).cost).toBe("number");
    expect(callInfo(stream)!.headers["x-llmux-model-group"]).toBe("scripted");
    await gateway.flush();
    expect(ended.map((event) => [event.status, event.stream])).toEqual([["success", true]]);

    const quiet = await client.chat.completions.create({
      model: "scripted",
      stream: true,
      messages: [{ role: "user", content: "count" }],
    });
    let usageChunks = 0;
    for await (const chunk of quiet) if (chunk.usage) usageChunks++;
    expect(usageChunks).toBe(0);
  });

  it("takes context from the host request: resolveContext, traceparent-free, session header", async () => {
    const request = {
      headers: { "x-team": "search", "x-llmux-session-id": "sess-9", "x-llmux-tags": "a,b" },
    } as unknown as IncomingMessage;
    await client.chat.completions.create(
      { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] },
      { request, context: { user: "bob" } },
    );
    await gateway.flush();
    expect(ended[0]).toMatchObject({ team: "search", session: "sess-9", user: "bob" });
    expect(ended[0]!.tags.sort()).toEqual(["a", "b"]);
    expect(hookSaw[0]!.request).toBe(request);
  });

  it("noLog keeps the prompt and response out of the events", async () => {
    await client.chat.completions.create(
      { model: "gpt-4o", messages: [{ role: "user", content: "secret prompt" }] },
      { noLog: true },
    );
    await gateway.flush();
    expect(started[0]!.redacted).toBe(true);
    expect(JSON.stringify(ended[0])).not.toContain("secret prompt");
  });

  it("breaking out of the stream closes the upstream connection", async () => {
    mock.scenario("scripted", { chunkDelayMs: 100 });
    const stream = await client.chat.completions.create({
      model: "scripted",
      stream: true,
      messages: [{ role: "user", content: "long story" }],
    });
    let chunks = 0;
    for await (const _chunk of stream) if (++chunks === 2) break;
    const [request] = await mock.waitForRequests(1);
    expect(await request!.clientClosed).toBe(true);
    expect(request!.completed).toBe(false);
    await gateway.flush();
    expect(ended[0]!.status).not.toBe("success");
  });

  it("aborting the caller's signal mid-stream closes the upstream and ends the iteration with an LlmuxError", async () => {
    mock.scenario("scripted", { chunkDelayMs: 100 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "scripted", stream: true, messages: [{ role: "user", content: "long story" }] },
      { signal: controller.signal },
    );
    let chunks = 0;
    const error = await (async () => {
      for await (const _chunk of stream) if (++chunks === 2) controller.abort();
    })().catch((caught) => caught);
    expect(chunks).toBe(2);
    expect(isLlmuxError(error)).toBe(true);
    expect(error.kind).toBe("aborted");
    const [request] = await mock.waitForRequests(1);
    expect(await request!.clientClosed).toBe(true);
  });

  it("an already aborted signal rejects without an upstream call completing", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }, { signal: controller.signal })
      .catch((caught) => caught);
    expect(isLlmuxError(error)).toBe(true);
    expect(mock.requests.filter((request) => request.completed)).toHaveLength(0);
  });
});

describe("errors are LlmuxErrors with the HTTP route's status", () => {
  it("unknown model → not_found 404, no upstream call", async () => {
    const error = await client.chat.completions
      .create({ model: "nope", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(isLlmuxError(error)).toBe(true);
    expect(error).toMatchObject({ kind: "not_found", status: 404, param: "model", code: "model_not_found" });
    expect(mock.requests).toHaveLength(0);
  });

  it("no messages → bad_request 400 naming the parameter", async () => {
    const error = await client.chat.completions
      .create({ model: "gpt-4o", messages: [] })
      .catch((caught) => caught);
    expect(error).toMatchObject({ kind: "bad_request", status: 400, param: "messages" });
  });

  it("upstream 500 → server_error 502; the key never appears in the message", async () => {
    mock.scenario("scripted", {
      status: 500,
      body: { error: { message: `boom with ${UPSTREAM_KEY}` } },
    });
    const error = await client.chat.completions
      .create({ model: "scripted", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(isLlmuxError(error)).toBe(true);
    expect(error.status).toBe(502);
    expect(error.message).not.toContain(UPSTREAM_KEY);
    await gateway.flush();
    expect(ended[0]!.status).toBe("failure");
  });

  it("timeout option → 408/504-class timeout error within the limit", async () => {
    mock.scenario("scripted", { hang: true });
    const error = await client.chat.completions
      .create({ model: "scripted", messages: [{ role: "user", content: "hi" }] }, { timeout: 300 })
      .catch((caught) => caught);
    expect(isLlmuxError(error)).toBe(true);
    expect(error.kind).toBe("timeout");
    const [request] = await mock.waitForRequests(1);
    expect(await request!.clientClosed).toBe(true);
  });
});

describe("embeddings.create", () => {
  it("returns OpenAI-shaped embeddings with usage and call info", async () => {
    const result = await client.embeddings.create({
      model: "embedder",
      input: ["alpha", "beta"],
      dimensions: 4,
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/embeddings");
    expect(result.object).toBe("list");
    expect(result.data).toHaveLength(2);
    expect(result.data[0]!.embedding).toHaveLength(4);
    expect(callInfo(result)!.headers["x-llmux-model-group"]).toBe("embedder");
    await gateway.flush();
    expect(ended[0]).toMatchObject({ callType: "embeddings", status: "success" });
  });

  it("missing input → 400", async () => {
    const error = await client.embeddings.create({ model: "embedder", input: "" }).catch((caught) => caught);
    expect(error).toMatchObject({ kind: "bad_request", status: 400, param: "input" });
  });
});

describe("messages.create (Anthropic's Messages API)", () => {
  it("native Anthropic deployment: the body goes upstream as a Message request; a Message comes back", async () => {
    const message = await client.messages.create({
      model: "claude",
      max_tokens: 64,
      system: "Be brief.",
      messages: [{ role: "user", content: "Say hello" }],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/messages");
    expect(upstream!.headers["x-api-key"]).toBe(UPSTREAM_KEY);
    expect(upstream!.body).toMatchObject({
      model: "claude-sonnet-4-20250514",
      max_tokens: 64,
      system: "Be brief.",
    });
    expect(message).toMatchObject({ type: "message", role: "assistant" });
    expect(message.content[0]!.type).toBe("text");
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(callInfo(message)!.headers["x-llmux-provider"]).toBe("anthropic");
    await gateway.flush();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ callType: "messages", status: "success" });
  });

  it("an OpenAI deployment: translated to chat upstream, answered in Anthropic's shape", async () => {
    const message = await client.messages.create({
      model: "gpt-4o",
      max_tokens: 32,
      messages: [{ role: "user", content: "Say hello" }],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/chat/completions");
    expect(upstream!.body.messages).toEqual([{ role: "user", content: "Say hello" }]);
    expect(message.type).toBe("message");
    expect(String((message.content[0] as { text?: string }).text)).toMatch(/\w+/);
  });

  it("streams Anthropic events as an async iterable; the text equals the upstream's", async () => {
    mock.scenario("scripted", { content: "uno dos tres" });
    const stream = await client.messages.create({
      model: "scripted",
      max_tokens: 32,
      stream: true,
      messages: [{ role: "user", content: "count" }],
    });
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      const delta = event.delta as { type?: string; text?: string } | undefined;
      if (event.type === "content_block_delta" && delta?.type === "text_delta") text += delta.text;
    }
    expect(text).toBe("uno dos tres");
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
  });

  it("no max_tokens → bad_request naming it; unknown model → 404", async () => {
    const missing = await client.messages
      .create({ model: "claude", messages: [{ role: "user", content: "hi" }] } as never)
      .catch((caught) => caught);
    expect(missing).toMatchObject({ kind: "bad_request", status: 400, param: "max_tokens" });
    const unknown = await client.messages
      .create({ model: "nope", max_tokens: 5, messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(unknown).toMatchObject({ kind: "not_found", status: 404 });
    expect(mock.requests).toHaveLength(0);
  });
});

describe("types", () => {
  it("accepts the openai and Anthropic SDKs' own parameter types", async () => {
    const params: OpenAI.ChatCompletionCreateParamsNonStreaming = {
      model: "gpt-4o",
      messages: [{ role: "user", content: "typed" }],
      temperature: 0,
    };
    const completion = await client.chat.completions.create(params);
    expect(completion.choices).toHaveLength(1);
    const streamParams: OpenAI.ChatCompletionCreateParamsStreaming = { ...params, stream: true };
    const chunks: unknown[] = [];
    for await (const chunk of await client.chat.completions.create(streamParams)) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(0);
    const embeddingParams: OpenAI.EmbeddingCreateParams = { model: "embedder", input: "typed" };
    expect((await client.embeddings.create(embeddingParams)).data).toHaveLength(1);
    const messageParams: Anthropic.MessageCreateParamsNonStreaming = {
      model: "claude",
      max_tokens: 16,
      messages: [{ role: "user", content: "typed" }],
    };
    expect((await client.messages.create(messageParams)).type).toBe("message");
  });
});

describe("createGatewayClient(options)", () => {
  it("builds its own gateway from options (built-in mock provider, no network)", async () => {
    const own = createGatewayClient({
      config: { model_list: [{ model_name: "m", litellm_params: { model: "mock/gpt-4o-mini" } }] },
      quietOpenWarning: true,
    });
    const completion = await own.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(completion.choices).toHaveLength(1);
    expect(callInfo(completion)!.headers["x-llmux-provider"]).toBe("mock");
    await own.gateway.shutdown();
  });
});
