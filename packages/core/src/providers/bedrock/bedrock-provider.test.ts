/**
 * The `bedrock/` provider end to end: the official openai SDK → the gateway (real HTTP, port 0) →
 * the @llmux/testing mock speaking Bedrock runtime (Converse, ConverseStream with real AWS
 * event-stream frames, InvokeModel), which verifies every SigV4 signature against the test
 * credentials. InvokeModelWithResponseStream is also exercised against a small event-stream server in
 * this file (hand-made frames); the mock serves it too (see bedrock-end-to-end.test.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { EventStreamCodec } from "@smithy/core/event-streams";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../provider-test-support";

const CREDENTIALS = { accessKeyId: "AKIDMOCKTEST", secretAccessKey: "mock-secret" };
const AWS_PARAMS = {
  aws_access_key_id: CREDENTIALS.accessKeyId,
  aws_secret_access_key: CREDENTIALS.secretAccessKey,
  aws_region_name: "eu-west-1",
};
const PRICES = {
  input_cost_per_token: 0.000003,
  output_cost_per_token: 0.000015,
  cache_read_input_token_cost: 0.0000003,
  cache_creation_input_token_cost: 0.00000375,
};
const CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);

/** A stand-in for InvokeModelWithResponseStream: Anthropic events wrapped in `chunk` frames. */
interface StreamServer {
  url: string;
  requests: Array<{ path: string; body: Record<string, unknown>; authorization: string }>;
  /** Frames to send for the next requests (one list per request); default: a short text answer. */
  plan: Uint8Array[][];
  close(): Promise<void>;
}

function chunkFrame(event: Record<string, unknown>): Uint8Array {
  const payload = JSON.stringify({ bytes: Buffer.from(JSON.stringify(event)).toString("base64") });
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: "chunk" },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: new TextEncoder().encode(payload),
  });
}

function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ":exception-type": { type: "string", value: type },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    body: new TextEncoder().encode(JSON.stringify({ message })),
  });
}

function claudeAnswer(text: string, usage: Record<string, number>): Uint8Array[] {
  const frames = [
    chunkFrame({
      type: "message_start",
      message: {
        id: "msg_bdrk_01",
        type: "message",
        role: "assistant",
        model: "claude-3-5-sonnet-20241022",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
    chunkFrame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  ];
  for (const word of text.split(/(?<= )/)) {
    frames.push(
      chunkFrame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: word } }),
    );
  }
  frames.push(chunkFrame({ type: "content_block_stop", index: 0 }));
  frames.push(
    chunkFrame({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: text.split(" ").length },
    }),
  );
  frames.push(
    chunkFrame({
      type: "message_stop",
      "amazon-bedrock-invocationMetrics": {
        inputTokenCount: 9,
        outputTokenCount: 3,
        invocationLatency: 5,
        firstByteLatency: 2,
      },
    }),
  );
  return frames;
}

async function startStreamServer(): Promise<StreamServer> {
  const state: StreamServer = { url: "", requests: [], plan: [], close: async () => undefined };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => {
      state.requests.push({
        path: request.url ?? "",
        body: JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>,
        authorization: String(request.headers.authorization ?? ""),
      });
      const frames = state.plan.shift() ?? claudeAnswer("streamed from bedrock", { input_tokens: 9 });
      response.writeHead(200, { "content-type": "application/vnd.amazon.eventstream" });
      // Split frames across writes at odd offsets: the decoder must reassemble them.
      const all = Buffer.concat(frames);
      const cut = Math.floor(all.length / 3) + 1;
      response.write(all.subarray(0, cut));
      response.end(all.subarray(cut));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

let mock: MockProvider;
let streamServer: StreamServer;
let app: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider({ bedrockCredentials: CREDENTIALS });
  streamServer = await startStreamServer();
  app = await startTestGateway({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: `bedrock/${CLAUDE}`,
          api_base: mock.scenarioUrl("bedrock"),
          ...AWS_PARAMS,
          ...PRICES,
        },
      },
      {
        model_name: "llama",
        litellm_params: {
          model: "bedrock/meta.llama3-1-70b-instruct-v1:0",
          api_base: mock.url,
          ...AWS_PARAMS,
          ...PRICES,
        },
      },
      {
        model_name: "nova",
        litellm_params: {
          model: "bedrock/converse/us.amazon.nova-pro-v1:0",
          api_base: mock.url,
          ...AWS_PARAMS,
          ...PRICES,
        },
      },
      {
        model_name: "titan",
        litellm_params: {
          model: "bedrock/amazon.titan-embed-text-v2:0",
          api_base: mock.url,
          ...AWS_PARAMS,
          input_cost_per_token: 0.00000002,
        },
      },
      {
        model_name: "cohere",
        litellm_params: {
          model: "bedrock/cohere.embed-english-v3",
          api_base: mock.url,
          ...AWS_PARAMS,
          input_cost_per_token: 0.0000001,
        },
      },
      {
        model_name: "claude-invoke",
        litellm_params: { model: `bedrock/invoke/${CLAUDE}`, api_base: mock.url, ...AWS_PARAMS, ...PRICES },
      },
      {
        model_name: "claude-invoke-stream",
        litellm_params: {
          model: `bedrock/invoke/${CLAUDE}`,
          api_base: streamServer.url,
          ...AWS_PARAMS,
          ...PRICES,
        },
      },
      {
        model_name: "claude-native-stream",
        litellm_params: { model: `bedrock/${CLAUDE}`, api_base: streamServer.url, ...AWS_PARAMS, ...PRICES },
      },
      {
        model_name: "wrong-key",
        litellm_params: {
          model: `bedrock/${CLAUDE}`,
          api_base: mock.url,
          aws_access_key_id: CREDENTIALS.accessKeyId,
          aws_secret_access_key: "not-the-secret",
          aws_region_name: "eu-west-1",
        },
      },
      {
        model_name: "env-credentials",
        litellm_params: { model: `bedrock/${CLAUDE}`, api_base: mock.url, ...PRICES },
      },
    ],
    router_settings: {
      num_retries: 2,
      retry_after: 0.001,
      cooldown_time: 0,
      allowed_fails: 100,
      timeout: 10,
    },
  });
  client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await streamServer?.close();
  await mock?.close();
});

beforeEach(() => {
  mock.clear();
  streamServer.requests.length = 0;
  streamServer.plan.length = 0;
  app.events.length = 0;
});

describe("bedrock/ Converse (non-streaming)", () => {
  it("signs with SigV4 and maps system, multi-turn, images and inference parameters to Converse", async () => {
    const completion = await client.chat.completions.create({
      model: "claude",
      max_tokens: 300,
      temperature: 0.5,
      top_p: 0.8,
      stop: "STOP",
      messages: [
        { role: "system", content: "Answer in one line." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
        {
          role: "user",
          content: [
            { type: "text", text: "Describe" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
    });
    const [upstream] = await mock.waitForRequests(1);
    // The mock answered, so the SigV4 signature (service bedrock, the deployment's region) verified.
    expect(upstream!.path).toBe("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse");
    expect(String(upstream!.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDMOCKTEST\/\d{8}\/eu-west-1\/bedrock\/aws4_request, SignedHeaders=.*host.*x-amz-date/,
    );
    expect(upstream!.body).toEqual({
      messages: [
        { role: "user", content: [{ text: "Hi" }] },
        { role: "assistant", content: [{ text: "Hello." }] },
        {
          role: "user",
          content: [{ text: "Describe" }, { image: { format: "png", source: { bytes: PNG } } }],
        },
      ],
      system: [{ text: "Answer in one line." }],
      inferenceConfig: { maxTokens: 300, temperature: 0.5, topP: 0.8, stopSequences: ["STOP"] },
    });
    expect(completion.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage!.completion_tokens).toBe(12);
  });

  it("serves Meta and Amazon models through the same Converse API", async () => {
    const llama = await client.chat.completions.create({
      model: "llama",
      messages: [{ role: "user", content: "Hello Llama" }],
    });
    const nova = await client.chat.completions.create({
      model: "nova",
      messages: [{ role: "user", content: "Hello Nova" }],
    });
    const requests = await mock.waitForRequests(2);
    expect(requests.map((request) => request.path)).toEqual([
      "/model/meta.llama3-1-70b-instruct-v1%3A0/converse",
      "/model/us.amazon.nova-pro-v1%3A0/converse",
    ]);
    expect(llama.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(nova.choices[0]!.message.content).toMatch(/^Mock reply:/);
  });

  it("round-trips tools through toolConfig: toolUse → tool_calls, tool result → toolResult", async () => {
    mock.scenario("bedrock", { toolCall: { name: "get_weather", arguments: '{"city":"Rome"}' } });
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      },
    ];
    const first = await client.chat.completions.create({
      model: "claude",
      tools,
      tool_choice: "required",
      messages: [{ role: "user", content: "Weather in Rome?" }],
    });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.body.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: "get_weather",
            description: "Weather",
            inputSchema: { json: { type: "object", properties: { city: { type: "string" } } } },
          },
        },
      ],
      toolChoice: { any: {} },
    });
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.type === "function" && [call.function.name, JSON.parse(call.function.arguments)]).toEqual([
      "get_weather",
      { city: "Rome" },
    ]);

    mock.clear();
    mock.scenario("bedrock", { content: "Sunny." });
    const second = await client.chat.completions.create({
      model: "claude",
      tools,
      messages: [
        { role: "user", content: "Weather in Rome?" },
        first.choices[0]!.message,
        { role: "tool", tool_call_id: call.id, content: "25 C" },
      ],
    });
    const [followUp] = await mock.waitForRequests(1);
    expect(followUp!.body.messages).toEqual([
      { role: "user", content: [{ text: "Weather in Rome?" }] },
      {
        role: "assistant",
        content: [{ toolUse: { toolUseId: call.id, name: "get_weather", input: { city: "Rome" } } }],
      },
      { role: "user", content: [{ toolResult: { toolUseId: call.id, content: [{ text: "25 C" }] } }] },
    ]);
    expect(second.choices[0]!.message.content).toBe("Sunny.");
  });

  it("reports cache reads and writes (Converse's cacheRead/cacheWriteInputTokens) in usage and cost", async () => {
    mock.scenario("bedrock", {
      usage: {
        prompt_tokens: 40,
        cache_read_input_tokens: 200,
        cache_creation_input_tokens: 60,
        completion_tokens: 10,
      },
    });
    const { data, response } = await client.chat.completions
      .create({
        model: "claude",
        messages: [
          {
            role: "system",
            content: [
              { type: "text", text: "Cached", cache_control: { type: "ephemeral" } },
            ] as unknown as OpenAI.ChatCompletionContentPartText[],
          },
          { role: "user", content: "Question" },
        ],
      })
      .withResponse();
    const [upstream] = await mock.waitForRequests(1);
    // cache_control becomes a cachePoint after the cached block.
    expect(upstream!.body.system).toEqual([{ text: "Cached" }, { cachePoint: { type: "default" } }]);
    expect(data.usage).toMatchObject({
      prompt_tokens: 300,
      completion_tokens: 10,
      prompt_tokens_details: { cached_tokens: 200 },
    });
    const expected = 40 * 0.000003 + 200 * 0.0000003 + 60 * 0.00000375 + 10 * 0.000015;
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBeCloseTo(expected, 12);
    const [event] = await app.flushEvents();
    expect(event!.usage).toMatchObject({
      inputTokens: 300,
      cachedInputTokens: 200,
      cacheCreationInputTokens: 60,
    });
  });
});

describe("bedrock/ ConverseStream", () => {
  it("decodes the AWS event stream into chunks, with the usage chunk last", async () => {
    mock.scenario("bedrock", { content: "north south east west", chunkDelayMs: 2 });
    const stream = await client.chat.completions.create({
      model: "claude",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Directions" }],
    });
    let text = "";
    let finish: string | null | undefined;
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      last = chunk;
    }
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream");
    expect(text).toBe("north south east west");
    expect(finish).toBe("stop");
    expect(last!.choices).toEqual([]);
    expect(last!.usage!.completion_tokens).toBe(4);
  });

  it("streams a tool call (contentBlockStart toolUse + input fragments)", async () => {
    mock.scenario("bedrock", { toolCall: { name: "lookup", arguments: '{"query":"llmux gateway"}' } });
    const stream = await client.chat.completions.create({
      model: "claude",
      stream: true,
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }],
      messages: [{ role: "user", content: "Search" }],
    });
    let name = "";
    let args = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
        name += call.function?.name ?? "";
        args += call.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe("lookup");
    expect(JSON.parse(args)).toEqual({ query: "llmux gateway" });
    expect(finish).toBe("tool_calls");
  });

  it("rejects a frame with a bad CRC as a malformed stream (an in-band error for the client)", async () => {
    mock.scenario("bedrock", { malformed: "sse" });
    const stream = await client.chat.completions.create({
      model: "claude",
      stream: true,
      messages: [{ role: "user", content: "broken" }],
    });
    const error = await (async () => {
      for await (const _chunk of stream) {
        // until the error
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toMatch(/malformed event stream/);
  });
});

describe("bedrock/ errors and credentials", () => {
  it("retries ThrottlingException (429) and ServiceUnavailableException (503), then answers", async () => {
    mock.scenario("bedrock", [{ status: 429 }, { status: 503 }]);
    const { data, response } = await client.chat.completions
      .create({ model: "claude", messages: [{ role: "user", content: "retry" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(mock.requests.map((request) => request.fault?.status)).toEqual([429, 503, undefined]);
    expect(response.headers.get("x-llmux-attempts")).toBe("3");
    const [event] = await app.flushEvents();
    expect(event!.attempts.map((attempt) => attempt.error?.type ?? attempt.outcome)).toEqual([
      "rate_limit",
      "unavailable",
      "success",
    ]);
  });

  it("treats a 424 ModelErrorException as a retryable server error", async () => {
    // The mock's 424 carries x-amzn-ErrorType: ModelErrorException, as Bedrock sends it.
    mock.scenario("bedrock", { status: 424 });
    const error = await client.chat.completions
      .create({ model: "claude", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(mock.requests).toHaveLength(3);
  });

  it("a wrong secret fails the mock's SigV4 check: 403 → a 502 for the caller, no secret in the message", async () => {
    const error = await client.chat.completions
      .create({ model: "wrong-key", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(502);
    expect(apiError.message).toMatch(/signature/i);
    expect(apiError.message).not.toContain("not-the-secret");
  });

  it("takes credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION when the deployment has none", async () => {
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
    process.env.AWS_SESSION_TOKEN = "session-token-from-env";
    process.env.AWS_REGION = "ap-southeast-2";
    try {
      const completion = await client.chat.completions.create({
        model: "env-credentials",
        messages: [{ role: "user", content: "env" }],
      });
      expect(completion.choices[0]!.message.content).toMatch(/^Mock reply:/);
      const [upstream] = await mock.waitForRequests(1);
      expect(String(upstream!.headers.authorization)).toContain("/ap-southeast-2/bedrock/aws4_request");
      expect(upstream!.headers["x-amz-security-token"]).toBe("session-token-from-env");
    } finally {
      for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});

describe("bedrock/ embeddings (InvokeModel)", () => {
  it("Titan: one InvokeModel per input, floats or base64 (the openai SDK's default)", async () => {
    const floats = await client.embeddings.create({
      model: "titan",
      input: ["first text", "second text"],
      dimensions: 4,
      encoding_format: "float",
    });
    const requests = await mock.waitForRequests(2);
    expect(requests.map((request) => request.body)).toEqual([
      { inputText: "first text", dimensions: 4 },
      { inputText: "second text", dimensions: 4 },
    ]);
    expect(floats.data.map((item) => item.embedding.length)).toEqual([4, 4]);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);

    // Without encoding_format the SDK asks for base64 and decodes float32 itself.
    const decoded = await client.embeddings.create({ model: "titan", input: "first text", dimensions: 4 });
    expect(decoded.data[0]!.embedding).toHaveLength(4);
    for (const [index, value] of decoded.data[0]!.embedding.entries()) {
      expect(value).toBeCloseTo(floats.data[0]!.embedding[index]!, 5);
    }
  });

  it("Cohere: one InvokeModel with texts and input_type; tokens from the response header", async () => {
    const result = await client.embeddings.create({
      model: "cohere",
      input: ["alpha", "beta", "gamma"],
      encoding_format: "float",
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/model/cohere.embed-english-v3/invoke");
    expect(upstream!.body).toEqual({ texts: ["alpha", "beta", "gamma"], input_type: "search_document" });
    expect(result.data).toHaveLength(3);
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
    const [event] = await app.flushEvents();
    expect(event!.callType).toBe("embeddings");
    expect(event!.cost!.total).toBeCloseTo(result.usage.prompt_tokens * 0.0000001, 12);
  });
});

describe("bedrock/invoke/ Claude and native /v1/messages streaming (InvokeModelWithResponseStream)", () => {
  it("bedrock/invoke/ chat sends an Anthropic body to InvokeModel", async () => {
    const completion = await client.chat.completions.create({
      model: "claude-invoke",
      messages: [
        { role: "system", content: "Be kind." },
        { role: "user", content: "Hello" },
      ],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke");
    expect(upstream!.body).toEqual({
      anthropic_version: "bedrock-2023-05-31",
      system: "Be kind.",
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
      max_tokens: 4096,
    });
    expect(completion.choices[0]!.message.content).toMatch(/^Mock reply:/);
  });

  it("bedrock/invoke/ streaming decodes base64 Anthropic events from chunk frames", async () => {
    const stream = await client.chat.completions.create({
      model: "claude-invoke-stream",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Stream" }],
    });
    let text = "";
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      last = chunk;
    }
    expect(streamServer.requests[0]!.path).toBe(
      "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke-with-response-stream",
    );
    expect(streamServer.requests[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(text).toBe("streamed from bedrock");
    expect(last!.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3 });
  });

  it("a throttlingException frame before the first event is retried", async () => {
    streamServer.plan.push([exceptionFrame("throttlingException", "Too many requests, please wait")]);
    const stream = await client.chat.completions.create({
      model: "claude-invoke-stream",
      stream: true,
      messages: [{ role: "user", content: "Stream" }],
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("streamed from bedrock");
    expect(streamServer.requests).toHaveLength(2);
    const [event] = await app.flushEvents();
    expect(event!.attempts[0]!.error!.type).toBe("rate_limit");
  });

  it("/v1/messages streams Claude on Bedrock natively (anthropic_beta in the body, metrics removed)", async () => {
    streamServer.plan.push(
      claudeAnswer("native bedrock stream", { input_tokens: 7, cache_read_input_tokens: 5 }),
    );
    const anthropic = new Anthropic({ baseURL: app.url, apiKey: "unused", maxRetries: 0 });
    const stream = anthropic.messages.stream(
      { model: "claude-native-stream", max_tokens: 50, messages: [{ role: "user", content: "Hi" }] },
      { headers: { "anthropic-beta": "token-efficient-tools-2025-02-19" } },
    );
    const events: Array<Record<string, unknown>> = [];
    stream.on("streamEvent", (event) => events.push(event as unknown as Record<string, unknown>));
    const final = await stream.finalMessage();
    expect(streamServer.requests[0]!.body).toEqual({
      anthropic_version: "bedrock-2023-05-31",
      max_tokens: 50,
      messages: [{ role: "user", content: "Hi" }],
      anthropic_beta: ["token-efficient-tools-2025-02-19"],
    });
    expect(final.content[0]!.type === "text" && final.content[0]!.text).toBe("native bedrock stream");
    expect(final.usage).toMatchObject({ input_tokens: 7, cache_read_input_tokens: 5, output_tokens: 3 });
    expect(events.at(-1)).toEqual({ type: "message_stop" });
    const [event] = await app.flushEvents();
    expect(event!.usage).toMatchObject({ inputTokens: 12, cachedInputTokens: 5, outputTokens: 3 });
  });
});
