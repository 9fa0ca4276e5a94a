/**
 * The `anthropic/` provider end to end: the official openai SDK → the gateway's /v1/chat/completions
 * (real HTTP, port 0) → the @llmux/testing mock speaking Anthropic's Messages API. Each test says
 * what the SDK sent, what reached the mock (the translated Messages body) and what came back.
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../provider-test-support";

const UPSTREAM_KEY = "sk-ant-upstream-0123456789abcdef";
const PRICES = {
  input_cost_per_token: 0.000003,
  output_cost_per_token: 0.000015,
  cache_read_input_token_cost: 0.0000003,
  cache_creation_input_token_cost: 0.00000375,
};
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

let mock: MockProvider;
let app: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: "anthropic/claude-3-5-sonnet-20241022",
          api_base: mock.url,
          api_key: UPSTREAM_KEY,
          ...PRICES,
        },
      },
      {
        model_name: "claude-scripted",
        litellm_params: {
          model: "anthropic/claude-3-5-sonnet-20241022",
          api_base: mock.scenarioUrl("claude"),
          api_key: UPSTREAM_KEY,
          ...PRICES,
        },
        model_info: { id: "claude-scripted" },
      },
      {
        model_name: "claude-long",
        litellm_params: {
          model: "anthropic/claude-3-7-sonnet-20250219",
          api_base: mock.url,
          api_key: UPSTREAM_KEY,
          ...PRICES,
        },
      },
    ],
    router_settings: {
      num_retries: 2,
      retry_after: 0.001,
      cooldown_time: 0,
      allowed_fails: 100,
      timeout: 10,
      context_window_fallbacks: [{ "claude-scripted": ["claude-long"] }],
    },
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

describe("anthropic/ chat completions (non-streaming)", () => {
  it("translates system, multi-turn, images, stop and sampling to Messages, and the answer back", async () => {
    const completion = await client.chat.completions.create({
      model: "claude",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi there." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these images?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          ],
        },
      ],
      stop: ["END"],
      temperature: 0.2,
      top_p: 0.9,
      user: "user-42",
    });
    const [upstream] = await mock.waitForRequests(1);
    // What reached the mock: the Messages API, with Anthropic's auth and version headers.
    expect(upstream!.path).toBe("/v1/messages");
    expect(upstream!.headers["x-api-key"]).toBe(UPSTREAM_KEY);
    expect(upstream!.headers["anthropic-version"]).toBe("2023-06-01");
    expect(upstream!.body).toEqual({
      model: "claude-3-5-sonnet-20241022",
      system: "You are terse.",
      messages: [
        { role: "user", content: [{ type: "text", text: "Hello" }] },
        { role: "assistant", content: [{ type: "text", text: "Hi there." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these images?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
          ],
        },
      ],
      max_tokens: 4096,
      stop_sequences: ["END"],
      temperature: 0.2,
      top_p: 0.9,
      metadata: { user_id: "user-42" },
    });
    // What came back: an OpenAI completion with the upstream's text, finish reason and usage.
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^msg_mock/);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );
    expect(completion.usage!.completion_tokens).toBe(12);
  });

  it("maps max_tokens, the stop reason max_tokens → length and n > 1 → 400", async () => {
    const completion = await client.chat.completions.create({
      model: "claude",
      max_tokens: 3,
      messages: [{ role: "user", content: "Write a lot" }],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.max_tokens).toBe(3);
    expect(completion.choices[0]!.finish_reason).toBe("length");

    const error = await client.chat.completions
      .create({ model: "claude", n: 2, messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("round-trips a tool call: tools, tool_choice, tool_use → tool_calls, tool result → tool_result", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ];
    mock.scenario("claude", { toolCall: { name: "get_weather", arguments: '{"city":"Paris"}' } });
    const first = await client.chat.completions.create({
      model: "claude-scripted",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
    });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.body.tools).toEqual([
      {
        name: "get_weather",
        description: "Weather for a city",
        input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    ]);
    expect(sent!.body.tool_choice).toEqual({
      type: "tool",
      name: "get_weather",
      disable_parallel_tool_use: true,
    });
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(
      call.type === "function" && [call.id, call.function.name, JSON.parse(call.function.arguments)],
    ).toEqual([expect.stringMatching(/^toolu_mock/), "get_weather", { city: "Paris" }]);

    mock.clear();
    mock.scenario("claude", { content: "It is sunny in Paris." });
    const second = await client.chat.completions.create({
      model: "claude-scripted",
      tools,
      tool_choice: "required",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        first.choices[0]!.message,
        { role: "tool", tool_call_id: call.id, content: '{"sky":"sunny"}' },
      ],
    });
    const [followUp] = await mock.waitForRequests(1);
    expect(followUp!.body.tool_choice).toEqual({ type: "any" });
    expect(followUp!.body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: call.id, name: "get_weather", input: { city: "Paris" } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: '{"sky":"sunny"}' }] },
    ]);
    expect(second.choices[0]!.message.content).toBe("It is sunny in Paris.");
  });

  it("passes prompt-caching cache_control through on system parts, message parts and tools", async () => {
    await client.chat.completions.create({
      model: "claude",
      messages: [
        {
          role: "system",
          content: [
            { type: "text", text: "Long shared instructions", cache_control: { type: "ephemeral" } },
          ] as unknown as OpenAI.ChatCompletionContentPartText[],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "A long document", cache_control: { type: "ephemeral", ttl: "1h" } },
            { type: "text", text: "Question?" },
          ] as unknown as OpenAI.ChatCompletionContentPartText[],
        },
      ],
      tools: [
        {
          type: "function",
          function: { name: "lookup", parameters: { type: "object" } },
          cache_control: { type: "ephemeral" },
        } as unknown as OpenAI.ChatCompletionTool,
      ],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.system).toEqual([
      { type: "text", text: "Long shared instructions", cache_control: { type: "ephemeral" } },
    ]);
    expect(upstream!.body.messages[0].content[0]).toEqual({
      type: "text",
      text: "A long document",
      cache_control: { type: "ephemeral", ttl: "1h" },
    });
    expect(upstream!.body.tools[0].cache_control).toEqual({ type: "ephemeral" });
  });

  it("reports cache reads and writes in usage, the event and the cost header", async () => {
    mock.scenario("claude", {
      usage: {
        prompt_tokens: 100,
        cache_read_input_tokens: 300,
        cache_creation_input_tokens: 50,
        completion_tokens: 20,
      },
    });
    const { data, response } = await client.chat.completions
      .create({ model: "claude-scripted", messages: [{ role: "user", content: "cached question" }] })
      .withResponse();
    // Anthropic's input_tokens (100) excludes the 300 cache reads and 50 cache writes.
    expect(data.usage).toMatchObject({
      prompt_tokens: 450,
      completion_tokens: 20,
      total_tokens: 470,
      prompt_tokens_details: { cached_tokens: 300 },
    });
    const expectedCost = 100 * 0.000003 + 300 * 0.0000003 + 50 * 0.00000375 + 20 * 0.000015;
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBeCloseTo(expectedCost, 12);
    const [event] = await app.flushEvents();
    expect(event!.usage).toEqual({
      inputTokens: 450,
      cachedInputTokens: 300,
      cacheCreationInputTokens: 50,
      outputTokens: 20,
      reasoningTokens: 0,
      totalTokens: 470,
    });
    expect(event!.cost!.cacheRead).toBeCloseTo(300 * 0.0000003, 12);
    expect(event!.cost!.cacheCreation).toBeCloseTo(50 * 0.00000375, 12);
    expect(event!.provider).toBe("anthropic");
  });

  it("maps response_format json_schema to a forced tool and returns its input as the content", async () => {
    mock.scenario("claude", { toolCall: { name: "json_tool_call", arguments: '{"answer":42}' } });
    const completion = await client.chat.completions.create({
      model: "claude-scripted",
      messages: [{ role: "user", content: "The answer?" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "answer",
          schema: { type: "object", properties: { answer: { type: "number" } } },
        },
      },
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.tool_choice).toEqual({ type: "tool", name: "json_tool_call" });
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ answer: 42 });
    expect(completion.choices[0]!.message.tool_calls).toBeUndefined();
    expect(completion.choices[0]!.finish_reason).toBe("stop");
  });
});

describe("anthropic/ streaming", () => {
  it("turns Anthropic's SSE events into OpenAI chunks, with a final usage chunk incl. cache tokens", async () => {
    const text = "alpha beta gamma delta";
    mock.scenario("claude", {
      content: text,
      usage: { prompt_tokens: 10, cache_read_input_tokens: 30, cache_creation_input_tokens: 5 },
    });
    const stream = await client.chat.completions.create({
      model: "claude-scripted",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream please" }],
    });
    let assembled = "";
    let finish: string | null | undefined;
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      assembled += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      last = chunk;
    }
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.stream).toBe(true);
    expect(assembled).toBe(text);
    expect(finish).toBe("stop");
    expect(last!.choices).toEqual([]);
    expect(last!.usage).toMatchObject({
      prompt_tokens: 45,
      completion_tokens: 4,
      prompt_tokens_details: { cached_tokens: 30 },
    });
    const cost = (last!.usage as unknown as { cost: number }).cost;
    expect(cost).toBeCloseTo(10 * 0.000003 + 30 * 0.0000003 + 5 * 0.00000375 + 4 * 0.000015, 12);
    const [event] = await app.flushEvents();
    expect(event!.stream).toBe(true);
    expect(event!.usage).toMatchObject({
      inputTokens: 45,
      cachedInputTokens: 30,
      cacheCreationInputTokens: 5,
    });
  });

  it("streams a tool call as tool_calls deltas (name first, then argument fragments)", async () => {
    const args = '{"city":"Paris","days":3}';
    mock.scenario("claude", { toolCall: { name: "get_weather", arguments: args } });
    const stream = await client.chat.completions.create({
      model: "claude-scripted",
      stream: true,
      messages: [{ role: "user", content: "Weather?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
    });
    let name = "";
    let argumentsText = "";
    let id: string | undefined;
    let fragments = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
        if (call.id) id = call.id;
        name += call.function?.name ?? "";
        if (call.function?.arguments) {
          argumentsText += call.function.arguments;
          fragments++;
        }
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(id).toMatch(/^toolu_mock/);
    expect(name).toBe("get_weather");
    expect(JSON.parse(argumentsText)).toEqual({ city: "Paris", days: 3 });
    expect(fragments).toBeGreaterThan(1);
    expect(finish).toBe("tool_calls");
  });

  it("a stream cut after its first event ends with an in-band error the SDK raises", async () => {
    mock.scenario("claude", { disconnectAfterChunks: 3 });
    const stream = await client.chat.completions.create({
      model: "claude-scripted",
      stream: true,
      messages: [{ role: "user", content: "cut me off" }],
    });
    const error = await (async () => {
      for await (const _chunk of stream) {
        // read until the error
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const [event] = await app.flushEvents();
    expect(event!.status).toBe("failure");
    expect(event!.error!.type).toBe("connection");
  });
});

describe("anthropic/ errors", () => {
  it("retries a 429 and a 529 overloaded_error, then answers (three attempts at the mock)", async () => {
    mock.scenario("claude", [{ status: 429 }, { status: 529 }]);
    const { data, response } = await client.chat.completions
      .create({ model: "claude-scripted", messages: [{ role: "user", content: "retry me" }] })
      .withResponse();
    const requests = await mock.waitForRequests(3);
    expect(requests.map((request) => request.fault?.status)).toEqual([429, 529, undefined]);
    expect(data.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(response.headers.get("x-llmux-attempts")).toBe("3");
    const [event] = await app.flushEvents();
    expect(event!.attempts.map((attempt) => attempt.error?.type ?? attempt.outcome)).toEqual([
      "rate_limit",
      "unavailable",
      "success",
    ]);
  });

  it("retries a 529 on a stream before the first chunk", async () => {
    mock.scenario("claude", [{ status: 529 }]);
    const stream = await client.chat.completions.create({
      model: "claude-scripted",
      stream: true,
      messages: [{ role: "user", content: "stream after overload" }],
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toMatch(/^Mock reply:/);
    expect(mock.requests).toHaveLength(2);
  });

  it("returns 503 when every attempt is overloaded and 429 when every attempt is rate limited", async () => {
    mock.scenario("claude", { status: 529 });
    const overloaded = await client.chat.completions
      .create({ model: "claude-scripted", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect((overloaded as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(mock.requests).toHaveLength(3);

    mock.clear();
    mock.scenario("claude", { status: 429 });
    const limited = await client.chat.completions
      .create({ model: "claude-scripted", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it("classifies 'prompt is too long' as context_window_exceeded and falls back to the long-context group", async () => {
    mock.scenario("claude", {
      status: 400,
      body: {
        type: "error",
        error: {
          type: "invalid_request_error",
          message: "prompt is too long: 210000 tokens > 200000 maximum",
        },
      },
    });
    const { data, response } = await client.chat.completions
      .create({ model: "claude-scripted", messages: [{ role: "user", content: "a very long prompt" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(response.headers.get("x-llmux-model-group")).toBe("claude-long");
    expect(response.headers.get("x-llmux-fallbacks")).toBe("1");
    const requests = await mock.waitForRequests(2);
    expect(requests[0]!.scenario).toBe("claude");
    expect(requests[1]!.body.model).toBe("claude-3-7-sonnet-20250219");
    const [event] = await app.flushEvents();
    expect(event!.attempts[0]!.error!.type).toBe("context_window_exceeded");
  });
});
