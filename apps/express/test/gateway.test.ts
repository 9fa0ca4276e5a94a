/**
 * The walking skeleton end to end: the official `openai` client against the running reference
 * Express app (port 0), upstream = the mock provider server.
 */
import { CREDENTIAL_KEYS } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startReferenceApp } from "../src/app";

const MASTER_KEY = "sk-master-test-key-0123456789";
const UPSTREAM_KEY = "sk-upstream-secret-abcdef123456";

let mock: MockProvider;
let app: Awaited<ReturnType<typeof startReferenceApp>>;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startReferenceApp({
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
          model_name: "embedder",
          litellm_params: {
            model: "openai/text-embedding-3-small",
            api_base: `${mock.url}/v1`,
            api_key: UPSTREAM_KEY,
          },
        },
      ],
      router_settings: { num_retries: 1, timeout: 1.5, retry_after: 0.01, cooldown_time: 0 },
      general_settings: { master_key: MASTER_KEY, max_request_size_mb: 0.05 },
    },
    quietOpenWarning: true,
  });
  client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

beforeEach(() => mock.clear());

describe("chat completions", () => {
  it("answers a completion with the upstream reply and the x-llmux headers", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello" }] })
      .withResponse();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/chat/completions");
    expect(upstream!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(upstream!.body.model).toBe("gpt-4o");
    expect(data.choices[0]!.message.content).toMatch(/\w+/);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(response.headers.get("x-llmux-call-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("x-llmux-model-group")).toBe("gpt-4o");
    expect(response.headers.get("x-llmux-model-id")).toBe("gpt-4o-0");
    expect(response.headers.get("x-llmux-provider")).toBe("openai");
    expect(response.headers.get("x-llmux-attempts")).toBe("1");
    expect(response.headers.get("x-llmux-fallbacks")).toBe("0");
    expect(Number(response.headers.get("x-llmux-overhead-ms"))).toBeGreaterThanOrEqual(0);
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBeGreaterThan(0);
    // the host's own middleware still runs around the gateway
    expect(response.headers.get("x-request-id")).toMatch(/^app-\d+$/);
  });

  it("streams: the assembled text equals what the upstream sent; usage only when asked", async () => {
    const text = "one two three four five six";
    mock.scenario("scripted", { content: text });
    const withoutUsage = await client.chat.completions.create({
      model: "scripted",
      stream: true,
      messages: [{ role: "user", content: "count" }],
    });
    let assembled = "";
    let usageChunks = 0;
    for await (const chunk of withoutUsage) {
      assembled += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usageChunks++;
    }
    expect(assembled).toBe(text);
    expect(usageChunks).toBe(0);
    // the gateway always asked the upstream for usage
    const [first] = await mock.waitForRequests(1);
    expect(first!.body.stream_options).toEqual({ include_usage: true });

    const withUsage = await client.chat.completions.create({
      model: "scripted",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "count" }],
    });
    let last: OpenAI.ChatCompletionChunk | undefined;
    assembled = "";
    for await (const chunk of withUsage) {
      assembled += chunk.choices[0]?.delta?.content ?? "";
      last = chunk;
    }
    expect(assembled).toBe(text);
    expect(last!.choices).toEqual([]);
    expect(last!.usage!.completion_tokens).toBeGreaterThan(0);
    expect(typeof (last!.usage as unknown as { cost: unknown }).cost).toBe("number");
  });
});

describe("other routes", () => {
  it("embeddings", async () => {
    const result = await client.embeddings.create({
      model: "embedder",
      input: ["alpha", "beta"],
      dimensions: 4,
    });
    expect(result.data).toHaveLength(2);
    expect(result.data[0]!.embedding).toHaveLength(4);
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("lists the model groups", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models.sort()).toEqual(["embedder", "gpt-4o", "scripted"]);
  });

  it("health checks need no key and call no upstream", async () => {
    const live = await fetch(`${app.url}/health/liveliness`);
    expect(live.status).toBe(200);
    const ready = (await (await fetch(`${app.url}/health/readiness`)).json()) as {
      status: string;
      cooling: unknown[];
    };
    expect(ready.status).toBe("healthy");
    expect(mock.requests).toHaveLength(0);
  });
});

describe("errors", () => {
  it("unknown model → 404 in OpenAI's error format", async () => {
    const error = await client.chat.completions
      .create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.status).toBe(404);
    expect(error.error).toMatchObject({
      type: "invalid_request_error",
      param: "model",
      code: "model_not_found",
    });
    expect(error.error.message).toContain("no-such-model");
  });

  it("malformed JSON → 400 in OpenAI's error format (express.json ran first)", async () => {
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
      body: '{"model": "gpt-4o", "messages": [',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("not valid JSON");
  });

  it("a body without messages → 400 naming the parameter", async () => {
    const error = await client.chat.completions
      .create({ model: "gpt-4o" } as never)
      .catch((caught) => caught);
    expect(error.status).toBe(400);
    expect(error.error.param).toBe("messages");
  });

  it("oversized body → 413", async () => {
    const big = "x".repeat(80 * 1024);
    const error = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: big }] })
      .catch((caught) => caught);
    expect(error.status).toBe(413);
    expect(mock.requests).toHaveLength(0);
  });

  it("upstream 500 → 502 after the retry budget", async () => {
    mock.scenario("scripted", { status: 500 });
    const error = await client.chat.completions
      .create({ model: "scripted", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(error.status).toBe(502);
    expect(error.error.type).toBe("api_error");
    expect(mock.requests).toHaveLength(2); // 1 + num_retries
  });

  it("upstream hang → 504 within the configured timeout, and the upstream socket is released", async () => {
    mock.scenario("scripted", { hang: true });
    const started = Date.now();
    const error = await client.chat.completions
      .create(
        { model: "scripted", messages: [{ role: "user", content: "hi" }] },
        { headers: { "x-llmux-timeout": "0.5" } },
      )
      .catch((caught) => caught);
    const elapsed = Date.now() - started;
    expect(error.status).toBe(504);
    expect(elapsed).toBeLessThan(3_000);
    const [request] = await mock.waitForRequests(1);
    expect(await request!.clientClosed).toBe(true);
  });

  it("client abort mid-stream → the mock sees its connection closed", async () => {
    mock.scenario("scripted", { chunkDelayMs: 100 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "scripted", stream: true, messages: [{ role: "user", content: "long story" }] },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        if (++chunks === 2) controller.abort();
      }
    } catch {
      // the SDK may end the iteration or throw an abort error: either is the client going away
    }
    expect(chunks).toBe(2);
    const [request] = await mock.waitForRequests(1);
    expect(await request!.clientClosed).toBe(true);
    expect(request!.completed).toBe(false);
  });

  it("wrong master key → 401; no key → 401", async () => {
    const wrong = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    const error = await wrong.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.error.type).toBe("authentication_error");
    const anonymous = await fetch(`${app.url}/v1/models`);
    expect(anonymous.status).toBe(401);
    expect(mock.requests).toHaveLength(0);
  });

  it("the caller cannot choose the upstream URL or key", async () => {
    // every key the gateway blocks, the list core enforces; the ones the issue named must stay in it
    for (const key of [
      "api_key",
      "api_base",
      "base_url",
      "extra_headers",
      "aws_access_key_id",
      "aws_secret_access_key",
      "aws_session_token",
      "aws_region_name",
      "aws_profile_name",
      "aws_role_name",
      "aws_web_identity_token",
      "aws_sts_endpoint",
      "aws_bedrock_runtime_endpoint",
      "azure_ad_token",
    ])
      expect(CREDENTIAL_KEYS).toContain(key);
    const values: Record<string, unknown> = {
      extra_headers: { authorization: "Bearer sk-evil" },
      api_base: "http://evil.example",
      base_url: "http://evil.example/v1",
    };
    for (const key of CREDENTIAL_KEYS) {
      const error = await client.chat.completions
        .create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "hi" }],
          [key]: values[key] ?? "caller-chosen-value",
        } as never)
        .catch((caught) => caught);
      expect(error, key).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.error.param, key).toBe(key);
      expect(error.error.code, key).toBe("client_credentials_not_allowed");
    }
    expect(mock.requests).toHaveLength(0);
  });

  it("no error message or header carries the upstream key", async () => {
    mock.scenario("scripted", {
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${UPSTREAM_KEY}` } },
    });
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ model: "scripted", messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).toContain("[REDACTED]");
    // the caller did nothing wrong: an upstream credential failure is a gateway-side 502 api_error
    expect(JSON.parse(text).error.type).toBe("api_error");
  });
});

describe("the host's own routes", () => {
  it("keeps working beside the gateway", async () => {
    const created = await fetch(`${app.url}/api/notes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "hello" }),
    });
    expect(created.status).toBe(201);
    const list = (await (await fetch(`${app.url}/api/notes`)).json()) as unknown[];
    expect(list).toHaveLength(1);
  });
});

describe("the dashboard", () => {
  it("serves the dashboard at /llmux/, its data with the master key only", async () => {
    const page = await fetch(`${app.url}/llmux/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("llmux dashboard");
    expect((await fetch(`${app.url}/llmux/api/calls`)).status).toBe(401);
    const calls = await fetch(`${app.url}/llmux/api/calls`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(calls.status).toBe(200);
    expect(Array.isArray(((await calls.json()) as { calls: unknown[] }).calls)).toBe(true);
  });
});
