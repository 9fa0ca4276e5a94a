/**
 * The smaller routes over real HTTP (port 0) with the built-in mock provider: POST /v1/completions
 * (string and array prompts, streamed and not, echo), GET /v1/models/{id}, the JSON 404 for unknown
 * paths under the API namespaces (OpenAI's or Anthropic's shape), HEAD / (Claude Code's check) and
 * the mock's encoding_format: base64. The official `openai` client is used where it has a method.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

const KEY = "sk-master-legacy-0123456789";
let app: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  app = await startTestGateway({
    model_list: [
      {
        model_name: "mock",
        litellm_params: {
          model: "mock/instruct",
          mock_response: "Paris is the capital.",
          input_cost_per_token: 0.000001,
          output_cost_per_token: 0.000002,
        },
      },
    ],
    router_settings: { model_group_alias: { "gpt-3.5-turbo-instruct": "mock" } },
    general_settings: { master_key: KEY },
  });
  client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
});

describe("POST /v1/completions", () => {
  it("answers a string prompt as a text_completion with usage, priced as callType completions", async () => {
    const { data, response } = await client.completions
      .create({ model: "mock", prompt: "The capital of France is", max_tokens: 10 })
      .withResponse();
    expect(data.object).toBe("text_completion");
    expect(data.id).toMatch(/^cmpl/);
    expect(data.choices).toEqual([
      { text: "Paris is the capital.", index: 0, logprobs: null, finish_reason: "stop" },
    ]);
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-llmux-response-cost")).not.toBeNull();
    const events = await app.flushEvents();
    const event = events.find((candidate) => candidate.callId === response.headers.get("x-llmux-call-id"));
    expect(event?.callType).toBe("completions");
    expect(event?.messages).toEqual([{ role: "user", content: "The capital of France is" }]);
  });

  it("answers an array of prompts with one choice each, indexed in order, usage summed", async () => {
    const data = await client.completions.create({
      model: "mock",
      prompt: ["one", "two", "three"],
      echo: true,
    });
    expect(data.choices.map((choice) => [choice.index, choice.text])).toEqual([
      [0, "oneParis is the capital."],
      [1, "twoParis is the capital."],
      [2, "threeParis is the capital."],
    ]);
    expect(data.usage?.completion_tokens).toBe(3 * 4);
  });

  it("streams text_completion chunks, the usage chunk when asked, then [DONE]", async () => {
    const stream = await client.completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "Capital?",
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("text_completion");
      for (const choice of chunk.choices) text += choice.text;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Paris is the capital.");
    expect(usage?.completion_tokens).toBe(4);
  });

  it("refuses a missing prompt and token-array prompts with OpenAI's 400", async () => {
    const missing = await fetch(`${app.url}/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock" }),
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { param: string } }).error.param).toBe("prompt");
    await expect(client.completions.create({ model: "mock", prompt: [1, 2, 3] })).rejects.toMatchObject({
      status: 400,
    });
  });
});

describe("GET /v1/models/{id}", () => {
  it("returns one model group or alias, and OpenAI's 404 for an unknown one", async () => {
    expect(await client.models.retrieve("mock")).toMatchObject({
      id: "mock",
      object: "model",
      owned_by: "llmux",
    });
    expect(await client.models.retrieve("gpt-3.5-turbo-instruct")).toMatchObject({
      id: "gpt-3.5-turbo-instruct",
    });
    await expect(client.models.retrieve("nope")).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
    });
  });

  it("needs the caller's key like every model route", async () => {
    const response = await fetch(`${app.url}/v1/models/mock`);
    expect(response.status).toBe(401);
  });
});

describe("unknown paths under the API namespaces", () => {
  it("answer a JSON 404 in OpenAI's shape", async () => {
    const response = await fetch(`${app.url}/v1/audio/speech`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = (await response.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error.code).toBe("unknown_url");
    expect(body.error.message).toContain("POST /v1/audio/speech");
  });

  it("answer in Anthropic's shape for Anthropic clients", async () => {
    const response = await fetch(`${app.url}/v1/messages/batches`, {
      headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01" },
    });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { type: string; error: { type: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "not_found_error" } });
  });

  it("leave paths outside the API to the host (the test server answers its own 404)", async () => {
    const response = await fetch(`${app.url}/v1/my-own-route`);
    expect(await response.json()).toEqual({ error: "not found" });
  });
});

describe("HEAD / and the mock's base64 embeddings", () => {
  it("HEAD / answers 200 without a key (Claude Code's check of its base URL)", async () => {
    const response = await fetch(`${app.url}/`, { method: "HEAD" });
    expect(response.status).toBe(200);
  });

  it("encoding_format base64 returns the float32 bytes of the same vector", async () => {
    const floats = await client.embeddings.create({
      model: "mock",
      input: "hello",
      encoding_format: "float",
    });
    const raw = await fetch(`${app.url}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock", input: "hello", encoding_format: "base64" }),
    });
    const body = (await raw.json()) as { data: Array<{ embedding: string }> };
    expect(typeof body.data[0]!.embedding).toBe("string");
    const bytes = Buffer.from(body.data[0]!.embedding, "base64");
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    expect(decoded).toEqual(floats.data[0]!.embedding.map((value) => Math.fround(value)));
    // The openai client asks for base64 by default and decodes it itself.
    const viaClient = await client.embeddings.create({ model: "mock", input: "hello" });
    expect(viaClient.data[0]!.embedding).toEqual(decoded);
  });
});
