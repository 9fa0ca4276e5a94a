/**
 * The `ollama/` and `ollama_chat/` providers end to end: the openai SDK → the gateway (real HTTP,
 * port 0) → the @llmux/testing mock's Ollama routes (/api/generate, /api/chat, /api/embed, NDJSON
 * streams). Checks the native bodies, usage from prompt_eval_count / eval_count, tools on /api/chat.
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../provider-test-support";

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const PRICES = { input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000002 };

let mock: MockProvider;
let app: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway({
    model_list: [
      {
        model_name: "llama-generate",
        litellm_params: { model: "ollama/llama3.2", api_base: mock.scenarioUrl("ollama"), ...PRICES },
      },
      {
        model_name: "llama-chat",
        litellm_params: {
          model: "ollama_chat/llama3.2",
          api_base: mock.scenarioUrl("ollama"),
          keep_alive: "10m",
          ...PRICES,
        },
      },
      { model_name: "nomic", litellm_params: { model: "ollama/nomic-embed-text", api_base: mock.url } },
    ],
    router_settings: { num_retries: 2, retry_after: 0.001, cooldown_time: 0, allowed_fails: 100 },
  });
  client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

beforeEach(() => {
  mock.clear();
  app.events.length = 0;
});

describe("ollama/ (/api/generate)", () => {
  it("sends system + prompt with options, stream false, and maps the counts to usage", async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: "llama-generate",
        max_tokens: 50,
        temperature: 0.1,
        stop: ["\n\n"],
        seed: 7,
        messages: [
          { role: "system", content: "You are helpful." },
          { role: "user", content: "Why is the sky blue?" },
        ],
      })
      .withResponse();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/api/generate");
    expect(upstream!.body).toEqual({
      model: "llama3.2",
      prompt: "Why is the sky blue?",
      system: "You are helpful.",
      stream: false,
      options: { temperature: 0.1, seed: 7, num_predict: 50, stop: ["\n\n"] },
    });
    expect(data.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(data.choices[0]!.finish_reason).toBe("stop");
    // prompt_eval_count / eval_count → prompt / completion tokens.
    expect(data.usage!.completion_tokens).toBe(12);
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    const expected = data.usage!.prompt_tokens * 0.0000001 + 12 * 0.0000002;
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBeCloseTo(expected, 12);
  });

  it("streams NDJSON as chunks, with the usage chunk from the final line", async () => {
    mock.scenario("ollama", { content: "light scatters more at short wavelengths" });
    const stream = await client.chat.completions.create({
      model: "llama-generate",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Explain" }],
    });
    let text = "";
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      last = chunk;
    }
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.stream).toBe(true);
    expect(text).toBe("light scatters more at short wavelengths");
    expect(last!.usage!.completion_tokens).toBe(6);
    const [event] = await app.flushEvents();
    expect(event!.usage!.outputTokens).toBe(6);
  });

  it("refuses tools with a pointer to ollama_chat/", async () => {
    const error = await client.chat.completions
      .create({
        model: "llama-generate",
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
        messages: [{ role: "user", content: "x" }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toMatch(/ollama_chat/);
    expect(mock.requests).toHaveLength(0);
  });
});

describe("ollama_chat/ (/api/chat)", () => {
  it("sends messages with base64 images, keep_alive and the length stop reason", async () => {
    const completion = await client.chat.completions.create({
      model: "llama-chat",
      max_tokens: 2,
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello" },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/api/chat");
    expect(upstream!.body).toEqual({
      model: "llama3.2",
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello" },
        { role: "user", content: "What is this?", images: [PNG] },
      ],
      stream: false,
      options: { num_predict: 2 },
      keep_alive: "10m",
    });
    expect(completion.choices[0]!.finish_reason).toBe("length");
  });

  it("round-trips tools: tool_calls with object arguments, tool results with tool_name", async () => {
    mock.scenario("ollama", { toolCall: { name: "get_weather", arguments: '{"city":"Tokyo"}' } });
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      },
    ];
    const first = await client.chat.completions.create({
      model: "llama-chat",
      tools,
      messages: [{ role: "user", content: "Weather in Tokyo?" }],
    });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.body.tools).toEqual(tools);
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.type === "function" && [call.function.name, JSON.parse(call.function.arguments)]).toEqual([
      "get_weather",
      { city: "Tokyo" },
    ]);
    expect(call.id).toMatch(/^call_/);

    mock.clear();
    mock.scenario("ollama", { content: "Rainy." });
    const second = await client.chat.completions.create({
      model: "llama-chat",
      tools,
      messages: [
        { role: "user", content: "Weather in Tokyo?" },
        first.choices[0]!.message,
        { role: "tool", tool_call_id: call.id, content: "rain, 18 C" },
      ],
    });
    const [followUp] = await mock.waitForRequests(1);
    expect(followUp!.body.messages).toEqual([
      { role: "user", content: "Weather in Tokyo?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [{ function: { name: "get_weather", arguments: { city: "Tokyo" } } }],
      },
      { role: "tool", content: "rain, 18 C", tool_name: "get_weather" },
    ]);
    expect(second.choices[0]!.message.content).toBe("Rainy.");
  });

  it("streams a tool call and text over NDJSON", async () => {
    mock.scenario("ollama", { toolCall: { name: "get_weather", arguments: '{"city":"Kyoto"}' } });
    const stream = await client.chat.completions.create({
      model: "llama-chat",
      stream: true,
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
      messages: [{ role: "user", content: "Weather in Kyoto?" }],
    });
    let args = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) args += call.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.parse(args)).toEqual({ city: "Kyoto" });
    expect(finish).toBe("tool_calls");
  });

  it("retries an Ollama 500 and 503 ({error}) before answering", async () => {
    mock.scenario("ollama", [{ status: 500 }, { status: 503 }]);
    const { response } = await client.chat.completions
      .create({ model: "llama-chat", messages: [{ role: "user", content: "retry" }] })
      .withResponse();
    expect(mock.requests).toHaveLength(3);
    expect(response.headers.get("x-llmux-attempts")).toBe("3");
  });

  it("an {error} line mid-stream ends the stream with an in-band error carrying Ollama's message", async () => {
    mock.scenario("ollama", {
      body: `{"model":"llama3.2","message":{"role":"assistant","content":"Hel"},"done":false}\n{"error":"model runner has unexpectedly stopped"}\n`,
    });
    const stream = await client.chat.completions.create({
      model: "llama-chat",
      stream: true,
      messages: [{ role: "user", content: "x" }],
    });
    let text = "";
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    })().catch((caught: unknown) => caught);
    expect(text).toBe("Hel");
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toMatch(/model runner has unexpectedly stopped/);
  });

  it("ends a stream cut mid-way with an in-band error", async () => {
    mock.scenario("ollama", { content: "one two three four five six", disconnectAfterChunks: 2 });
    const stream = await client.chat.completions.create({
      model: "llama-chat",
      stream: true,
      messages: [{ role: "user", content: "cut" }],
    });
    const error = await (async () => {
      for await (const _chunk of stream) {
        // until the error
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });
});

describe("ollama embeddings (/api/embed)", () => {
  it("embeds a batch in one call, in floats or base64", async () => {
    const floats = await client.embeddings.create({
      model: "nomic",
      input: ["x", "y"],
      encoding_format: "float",
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/api/embed");
    expect(upstream!.body).toEqual({ model: "nomic-embed-text", input: ["x", "y"] });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]!.embedding).toHaveLength(8);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    const decoded = await client.embeddings.create({ model: "nomic", input: "x" });
    expect(decoded.data[0]!.embedding[0]).toBeCloseTo(floats.data[0]!.embedding[0]!, 5);
  });
});
