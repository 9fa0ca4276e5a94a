/**
 * POST /v1/messages and /v1/messages/count_tokens with the official Anthropic SDK against the
 * gateway (real HTTP, port 0), routed to an Anthropic-shaped deployment (native passthrough), an
 * OpenAI-shaped one (translated both ways) and a Bedrock Claude one (InvokeModel), all served by the
 * @llmux/testing mock. Each test says what the SDK sent, what reached the mock and what came back.
 */
import Anthropic from "@anthropic-ai/sdk";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

const MASTER_KEY = "sk-master-messages-0123456789";
const ANTHROPIC_KEY = "sk-ant-upstream-abcdef0123456789";
const OPENAI_KEY = "sk-openai-upstream-abcdef0123456789";
const PRICES = {
  input_cost_per_token: 0.000003,
  output_cost_per_token: 0.000015,
  cache_read_input_token_cost: 0.0000003,
  cache_creation_input_token_cost: 0.00000375,
};

let mock: MockProvider;
let app: TestGateway;
let client: Anthropic;

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

beforeAll(async () => {
  mock = await startMockProvider({
    bedrockCredentials: { accessKeyId: "AKIDMOCKTEST", secretAccessKey: "mock-secret" },
  });
  app = await startTestGateway({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: "anthropic/claude-sonnet-4-20250514",
          api_base: mock.scenarioUrl("anthropic"),
          api_key: ANTHROPIC_KEY,
          ...PRICES,
        },
      },
      {
        model_name: "gpt",
        litellm_params: {
          model: "openai/gpt-4o",
          api_base: `${mock.scenarioUrl("openai")}/v1`,
          api_key: OPENAI_KEY,
          ...PRICES,
        },
      },
      {
        model_name: "bedrock-claude",
        litellm_params: {
          model: "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
          api_base: mock.url,
          aws_access_key_id: "AKIDMOCKTEST",
          aws_secret_access_key: "mock-secret",
          aws_region_name: "us-east-1",
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
    },
    general_settings: { master_key: MASTER_KEY },
  });
  client = new Anthropic({ baseURL: app.url, apiKey: MASTER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

beforeEach(() => {
  mock.clear();
  app.events.length = 0;
});

describe("/v1/messages → anthropic/ (native passthrough)", () => {
  it("forwards the body unchanged apart from the model, and returns Anthropic's message as it is", async () => {
    // temperature and top_k are not in this SDK's types any more; the API still takes them.
    const request: Anthropic.MessageCreateParamsNonStreaming & { temperature: number; top_k: number } = {
      model: "claude",
      max_tokens: 512,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "Hello there" }],
      temperature: 0.3,
      top_k: 5,
      metadata: { user_id: "user-7" },
    };
    const { data: message, response } = await client.messages
      .create(request, { headers: { "anthropic-beta": "prompt-caching-2024-07-31" } })
      .withResponse();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/messages");
    expect(upstream!.body).toEqual({ ...request, model: "claude-sonnet-4-20250514" });
    expect(upstream!.headers["x-api-key"]).toBe(ANTHROPIC_KEY);
    expect(upstream!.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(upstream!.headers.authorization).toBeUndefined();
    expect(message.type).toBe("message");
    expect(message.id).toMatch(/^msg_mock/);
    expect(message.content[0]!.type === "text" && message.content[0]!.text).toMatch(/^Mock reply:/);
    expect(message.stop_reason).toBe("end_turn");
    expect(response.headers.get("x-llmux-provider")).toBe("anthropic");
    expect(response.headers.get("x-llmux-model-group")).toBe("claude");
    const [event] = await app.flushEvents();
    expect(event!.callType).toBe("messages");
    expect(event!.status).toBe("success");
    expect(event!.usage!.outputTokens).toBe(message.usage.output_tokens);
  });

  it("streams Anthropic's events through, with usage incl. cache tokens and the cost on message_delta", async () => {
    mock.scenario("anthropic", {
      content: "one two three",
      usage: { prompt_tokens: 20, cache_read_input_tokens: 100, cache_creation_input_tokens: 10 },
    });
    const stream = client.messages.stream({
      model: "claude",
      max_tokens: 100,
      messages: [{ role: "user", content: "Count" }],
    });
    const types: string[] = [];
    let messageDeltaUsage: Record<string, unknown> | undefined;
    stream.on("streamEvent", (event) => {
      types.push(event.type);
      if (event.type === "message_delta")
        messageDeltaUsage = event.usage as unknown as Record<string, unknown>;
    });
    const final = await stream.finalMessage();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.stream).toBe(true);
    expect(final.content[0]!.type === "text" && final.content[0]!.text).toBe("one two three");
    expect(final.usage).toMatchObject({
      input_tokens: 20,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 10,
      output_tokens: 3,
    });
    expect(types[0]).toBe("message_start");
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
    const expectedCost = 20 * 0.000003 + 100 * 0.0000003 + 10 * 0.00000375 + 3 * 0.000015;
    expect(messageDeltaUsage!.cost as number).toBeCloseTo(expectedCost, 12);
    const [event] = await app.flushEvents();
    expect(event!.stream).toBe(true);
    expect(event!.usage).toMatchObject({
      inputTokens: 130,
      cachedInputTokens: 100,
      cacheCreationInputTokens: 10,
      outputTokens: 3,
    });
    expect(event!.cost!.total).toBeCloseTo(expectedCost, 12);
    expect(event!.finishReasons).toEqual(["end_turn"]);
  });

  it("forwards the upstream's SSE framing event by event (event: lines, ping, no [DONE])", async () => {
    const response = await fetch(`${app.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({
        model: "claude",
        max_tokens: 20,
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    const text = await response.text();
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(text.startsWith("event: message_start\ndata: {")).toBe(true);
    expect(text).toContain('event: ping\ndata: {"type": "ping"}\n\n');
    expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
    expect(text).not.toContain("[DONE]");
  });

  it("round-trips a tool call (streaming and not)", async () => {
    mock.scenario("anthropic", { toolCall: { name: "get_weather", arguments: '{"city":"Oslo"}' } });
    const first = await client.messages.create({
      model: "claude",
      max_tokens: 200,
      tools: [weatherTool],
      messages: [{ role: "user", content: "Weather in Oslo?" }],
    });
    expect(first.stop_reason).toBe("tool_use");
    const toolUse = first.content.find((block) => block.type === "tool_use") as Anthropic.ToolUseBlock;
    expect(toolUse.input).toEqual({ city: "Oslo" });

    mock.scenario("anthropic", { content: "Cold and clear." });
    const streamed = await client.messages
      .stream({
        model: "claude",
        max_tokens: 200,
        tools: [weatherTool],
        messages: [
          { role: "user", content: "Weather in Oslo?" },
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: toolUse.id, content: "-3 C, clear" }],
          },
        ],
      })
      .finalMessage();
    const requests = await mock.waitForRequests(2);
    expect(requests[1]!.body.messages[2].content[0]).toEqual({
      type: "tool_result",
      tool_use_id: toolUse.id,
      content: "-3 C, clear",
    });
    expect(streamed.content[0]!.type === "text" && streamed.content[0]!.text).toBe("Cold and clear.");
  });

  it("retries a 529 overloaded_error and a 429, counting the attempts at the mock", async () => {
    mock.scenario("anthropic", [{ status: 529 }, { status: 429 }]);
    const { data, response } = await client.messages
      .create({ model: "claude", max_tokens: 50, messages: [{ role: "user", content: "retry" }] })
      .withResponse();
    expect(data.content[0]!.type).toBe("text");
    expect((await mock.waitForRequests(3)).map((request) => request.fault?.status)).toEqual([
      529,
      429,
      undefined,
    ]);
    expect(response.headers.get("x-llmux-attempts")).toBe("3");
  });

  it("retries a stream whose first event is an overloaded error event; a later one ends the stream with event: error", async () => {
    const errorEvent = `event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`;
    mock.scenario("anthropic", [{ body: errorEvent }]);
    const recovered = await client.messages
      .stream({ model: "claude", max_tokens: 20, messages: [{ role: "user", content: "x" }] })
      .finalMessage();
    expect(recovered.content[0]!.type).toBe("text");
    expect(mock.requests).toHaveLength(2);
    const events = await app.flushEvents();
    expect(events[0]!.attempts[0]!.error!.type).toBe("unavailable");

    mock.clear();
    const start = `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_cut","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\n`;
    mock.scenario("anthropic", { body: start + errorEvent });
    const response = await fetch(`${app.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": MASTER_KEY },
      body: JSON.stringify({
        model: "claude",
        max_tokens: 20,
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }),
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text.startsWith("event: message_start\n")).toBe(true);
    expect(text).toMatch(
      /event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error","message":"anthropic stream error \(overloaded_error\): Overloaded"\}\}\n\n$/,
    );
    // Mid-stream failures cannot be retried: one request at the mock.
    expect(mock.requests).toHaveLength(1);
  });

  it("answers errors in Anthropic's shape: overloaded (529 → 503 overloaded_error)", async () => {
    mock.scenario("anthropic", { status: 529 });
    const error = await client.messages
      .create({ model: "claude", max_tokens: 50, messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(503);
    expect(apiError.error).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
    expect(mock.requests).toHaveLength(3);
  });
});

describe("/v1/messages → openai/ (translated)", () => {
  it("translates the request to chat completions and the completion back to a Message", async () => {
    const message = await client.messages.create({
      model: "gpt",
      max_tokens: 300,
      system: "You are a poet.",
      stop_sequences: ["THE END"],
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: [{ type: "text", text: "A haiku, please" }] },
      ],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/chat/completions");
    expect(upstream!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(upstream!.body).toMatchObject({
      model: "gpt-4o",
      max_tokens: 300,
      stop: ["THE END"],
      messages: [
        { role: "system", content: "You are a poet." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: [{ type: "text", text: "A haiku, please" }] },
      ],
    });
    expect(message.type).toBe("message");
    expect(message.role).toBe("assistant");
    expect(message.stop_reason).toBe("end_turn");
    expect(message.content[0]!.type === "text" && message.content[0]!.text).toMatch(/^Mock reply:/);
    expect(message.usage.output_tokens).toBe(12);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    const [event] = await app.flushEvents();
    expect(event!.callType).toBe("messages");
    expect(event!.provider).toBe("openai");
  });

  it("streams: chat chunks become message_start / content blocks / message_delta / message_stop", async () => {
    mock.scenario("openai", { content: "red green blue", usage: { prompt_tokens: 40, cached_tokens: 16 } });
    const stream = client.messages.stream({
      model: "gpt",
      max_tokens: 100,
      messages: [{ role: "user", content: "Colours" }],
    });
    const types: string[] = [];
    stream.on("streamEvent", (event) => types.push(event.type));
    const final = await stream.finalMessage();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.stream).toBe(true);
    expect(upstream!.body.stream_options).toEqual({ include_usage: true });
    expect(final.content).toEqual([{ type: "text", text: "red green blue" }]);
    expect(final.stop_reason).toBe("end_turn");
    // OpenAI's 40 prompt tokens include 16 cached: Anthropic's input_tokens excludes them.
    expect(final.usage).toMatchObject({ input_tokens: 24, cache_read_input_tokens: 16, output_tokens: 3 });
    expect(types[0]).toBe("message_start");
    expect(types[1]).toBe("content_block_start");
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const [event] = await app.flushEvents();
    expect(event!.usage).toMatchObject({ inputTokens: 40, cachedInputTokens: 16, outputTokens: 3 });
    expect(event!.cost!.total).toBeCloseTo(24 * 0.000003 + 16 * 0.0000003 + 3 * 0.000015, 12);
  });

  it("round-trips a tool call: tools → functions, tool_calls → tool_use, tool_result → tool message", async () => {
    mock.scenario("openai", { toolCall: { name: "get_weather", arguments: '{"city":"Lima"}' } });
    const first = await client.messages.create({
      model: "gpt",
      max_tokens: 200,
      tools: [weatherTool],
      tool_choice: { type: "any" },
      messages: [{ role: "user", content: "Weather in Lima?" }],
    });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: weatherTool.input_schema,
        },
      },
    ]);
    expect(sent!.body.tool_choice).toBe("required");
    expect(first.stop_reason).toBe("tool_use");
    const toolUse = first.content.find((block) => block.type === "tool_use") as Anthropic.ToolUseBlock;
    expect([toolUse.name, toolUse.input]).toEqual(["get_weather", { city: "Lima" }]);
    expect(toolUse.id).toMatch(/^call_mock/);

    mock.clear();
    mock.scenario("openai", { toolCall: { name: "get_weather", arguments: '{"city":"Cusco"}' } });
    const streamed = await client.messages
      .stream({
        model: "gpt",
        max_tokens: 200,
        tools: [weatherTool],
        messages: [
          { role: "user", content: "Weather in Lima?" },
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: toolUse.id, content: "18 C" },
              { type: "text", text: "And Cusco?" },
            ],
          },
        ],
      })
      .finalMessage();
    const [followUp] = await mock.waitForRequests(1);
    expect(followUp!.body.messages).toEqual([
      { role: "user", content: "Weather in Lima?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: toolUse.id,
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Lima"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: toolUse.id, content: "18 C" },
      { role: "user", content: [{ type: "text", text: "And Cusco?" }] },
    ]);
    // The streamed answer is a tool_use block assembled from input_json_delta fragments.
    expect(streamed.stop_reason).toBe("tool_use");
    const streamedTool = streamed.content.find(
      (block) => block.type === "tool_use",
    ) as Anthropic.ToolUseBlock;
    expect([streamedTool.name, streamedTool.input]).toEqual(["get_weather", { city: "Cusco" }]);
  });

  it("an OpenAI 429 is retried and an exhausted one is an Anthropic rate_limit_error", async () => {
    mock.scenario("openai", { status: 429 });
    const error = await client.messages
      .create({ model: "gpt", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "rate_limit_error" },
    });
    expect(mock.requests).toHaveLength(3);
  });
});

describe("/v1/messages → bedrock/ Claude (native InvokeModel)", () => {
  it("sends the Anthropic body to InvokeModel with anthropic_version and SigV4, and returns the message", async () => {
    const message = await client.messages.create({
      model: "bedrock-claude",
      max_tokens: 64,
      system: "Short answers.",
      messages: [{ role: "user", content: "Hello Bedrock" }],
    });
    const [upstream] = await mock.waitForRequests(1);
    // The model id is percent-encoded in the path, as the AWS SDK sends it.
    expect(upstream!.path).toBe("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke");
    expect(String(upstream!.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDMOCKTEST\/\d{8}\/us-east-1\/bedrock\/aws4_request/,
    );
    expect(upstream!.body).toEqual({
      anthropic_version: "bedrock-2023-05-31",
      max_tokens: 64,
      system: "Short answers.",
      messages: [{ role: "user", content: "Hello Bedrock" }],
    });
    expect(message.content[0]!.type === "text" && message.content[0]!.text).toMatch(/^Mock reply:/);
    const [event] = await app.flushEvents();
    expect(event!.provider).toBe("bedrock");
    expect(event!.callType).toBe("messages");
  });
});

describe("/v1/messages requests the gateway refuses, and count_tokens", () => {
  it("needs the master key (x-api-key or Bearer) and answers 401 in Anthropic's shape", async () => {
    const stranger = new Anthropic({ baseURL: app.url, apiKey: "wrong-key", maxRetries: 0 });
    const error = await stranger.messages
      .create({ model: "claude", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "authentication_error" },
    });
    const viaHeader = await fetch(`${app.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": MASTER_KEY },
      body: JSON.stringify({ model: "claude", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
    });
    expect(viaHeader.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
  });

  it("answers 404 not_found_error for an unknown model and 400 invalid_request_error for a bad body", async () => {
    const unknown = await client.messages
      .create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    const response = await fetch(`${app.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": MASTER_KEY },
      body: JSON.stringify({ model: "claude", messages: [{ role: "user", content: "x" }] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: Field required (an integer >= 1)" },
    });
    expect(mock.requests).toHaveLength(0);
  });

  it("forwards count_tokens to an Anthropic deployment, beta flags included", async () => {
    mock.clear();
    const { data, response } = await client.messages
      .countTokens(
        { model: "claude", messages: [{ role: "user", content: "Hello" }] },
        { headers: { "anthropic-beta": "token-counting-2024-11-01" } },
      )
      .withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-llmux-token-count-source")).toBe("provider");
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]!.path).toBe("/v1/messages/count_tokens");
    expect(mock.requests[0]!.body.model).toBe("claude-sonnet-4-20250514");
    expect(mock.requests[0]!.headers["anthropic-beta"]).toBe("token-counting-2024-11-01");
    // one call event: callType count_tokens, the provider's count, nothing consumed, nothing charged
    const events = await app.flushEvents();
    const event = events.find((candidate) => candidate.callId === response.headers.get("x-llmux-call-id"));
    expect(event).toMatchObject({
      callType: "count_tokens",
      status: "success",
      modelGroup: "claude",
      provider: "anthropic",
      usage: null,
      cost: { total: 0 },
      tokenCount: { inputTokens: data.input_tokens, source: "provider" },
    });
  });

  it("an Anthropic count_tokens failure is the call's error (Anthropic's shape) and a failure event", async () => {
    mock.clear();
    mock.scenario("anthropic", [{ status: 529 }]);
    const error = await client.messages
      .countTokens({ model: "claude", messages: [{ role: "user", content: "Hello" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBeGreaterThanOrEqual(500);
    const events = await app.flushEvents();
    const failed = events.filter((event) => event.callType === "count_tokens" && event.status === "failure");
    expect(failed.length).toBeGreaterThan(0);
    mock.scenario("anthropic", []);
  });

  it("runs no request hooks for count_tokens (it spends nothing), and all of them for messages", async () => {
    const seen: string[] = [];
    const hooked = await startTestGateway(
      { model_list: [{ model_name: "echo", litellm_params: { model: "mock/echo" } }] },
      {
        hooks: [
          {
            beforeCall: (context) => void seen.push(`before ${context.callType}`),
            afterCall: (context) => void seen.push(`after ${context.callType}`),
          },
        ],
      },
    );
    try {
      const anthropic = new Anthropic({ baseURL: hooked.url, apiKey: "any", maxRetries: 0 });
      const counted = await anthropic.messages.countTokens({
        model: "echo",
        messages: [{ role: "user", content: "Hello" }],
      });
      expect(counted.input_tokens).toBeGreaterThan(0);
      await anthropic.messages.create({
        model: "echo",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      });
      const events = await hooked.flushEvents();
      expect(events.map((event) => event.callType).sort()).toEqual(["count_tokens", "messages"]);
      expect(seen).toEqual(["before messages", "after messages"]);
    } finally {
      await hooked.close();
    }
  });

  it("counts with the tokenizer for other deployments, marked as an estimate, without an upstream call", async () => {
    mock.clear();
    const small = await client.messages.countTokens({
      model: "gpt",
      messages: [{ role: "user", content: "Hello" }],
    });
    const { data: large, response } = await client.messages
      .countTokens({
        model: "gpt",
        system: "x".repeat(400),
        tools: [weatherTool],
        messages: [{ role: "user", content: "吾輩は猫である。名前はまだ無い。" }],
      })
      .withResponse();
    // "Hello" is 1 token + 3 framing + 3 priming (o200k_base, the encoding of gpt-4o).
    expect(small.input_tokens).toBe(7);
    expect(large.input_tokens).toBeGreaterThan(small.input_tokens + 50);
    expect(response.headers.get("x-llmux-token-count-source")).toBe("estimate");
    expect(mock.requests).toHaveLength(0);
    const events = await app.flushEvents();
    const event = events.find((candidate) => candidate.callId === response.headers.get("x-llmux-call-id"));
    expect(event).toMatchObject({
      callType: "count_tokens",
      status: "success",
      modelGroup: "gpt",
      usage: null,
      cost: { total: 0 },
      tokenCount: { inputTokens: large.input_tokens, source: "estimate" },
    });
  });
});
