import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockProvider } from "./mock-provider.js";
import type { Fault, MockProvider } from "./types.js";

let mock: MockProvider;
let client: Anthropic;

beforeAll(async () => {
  mock = await startMockProvider();
  client = new Anthropic({ apiKey: "sk-ant-mock", baseURL: mock.url, maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.clear());

const request = {
  model: "claude-mock-1",
  max_tokens: 1024,
  system: "Be brief.",
  messages: [{ role: "user" as const, content: "Hello Claude mock" }],
};
// "Be brief." (9) + "Hello Claude mock" (17) = 26 characters → ceil(26 / 4) = 7 input tokens.
const INPUT_TOKENS = 7;

function withFault(fault: Fault) {
  return { headers: { "x-mock-fault": JSON.stringify(fault) } };
}

describe("Anthropic Messages", () => {
  it("answers a non-streaming message with usage and records the API key header", async () => {
    const message = await client.messages.create(request);
    expect(message.type).toBe("message");
    expect(message.role).toBe("assistant");
    expect(message.model).toBe("claude-mock-1");
    expect(message.stop_reason).toBe("end_turn");
    expect(message.content).toHaveLength(1);
    const block = message.content[0]!;
    expect(block.type === "text" && block.text.startsWith("Mock reply: ")).toBe(true);
    expect(message.usage).toMatchObject({
      input_tokens: INPUT_TOKENS,
      output_tokens: 12,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
    const [recorded] = await mock.waitForRequests(1);
    expect(recorded!.path).toBe("/v1/messages");
    // SDK 1.x sends the key as a Bearer token; older ones as x-api-key. Either is recorded as sent.
    const headers = recorded!.headers;
    expect(headers["x-api-key"] === "sk-ant-mock" || headers.authorization === "Bearer sk-ant-mock").toBe(
      true,
    );
    expect(recorded!.headers["anthropic-version"]).toBeDefined();
  });

  it("streams the real event sequence and the SDK assembles the same text and usage", async () => {
    const plain = await client.messages.create(request);
    const stream = await client.messages.create({ ...request, stream: true });
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
    }
    // message_start, content_block_start, ping, 12 × content_block_delta, content_block_stop, message_delta, message_stop.
    // (The SDK surfaces ping as an event type too.)
    expect(types[0]).toBe("message_start");
    expect(types[1]).toBe("content_block_start");
    expect(types.filter((type) => type === "content_block_delta")).toHaveLength(12);
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const first = plain.content[0]!;
    expect(first.type === "text" && first.text).toBe(text);

    // The SDK's MessageStream helper builds the final message from the events, usage included.
    const helper = client.messages.stream(
      request,
      withFault({ usage: { cache_read_input_tokens: 30, cache_creation_input_tokens: 5 } }),
    );
    const final = await helper.finalMessage();
    expect(final.content[0]!.type === "text" && final.content[0]!.text).toBe(text);
    expect(final.usage).toMatchObject({
      input_tokens: INPUT_TOKENS,
      output_tokens: 12,
      cache_read_input_tokens: 30,
      cache_creation_input_tokens: 5,
    });
  });

  it("sends the raw SSE framing (event: / data: lines, ping)", async () => {
    const response = await fetch(`${mock.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...request, stream: true }),
    });
    const text = await response.text();
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(text.startsWith("event: message_start\ndata: {")).toBe(true);
    expect(text).toContain('event: ping\ndata: {"type": "ping"}\n\n');
    expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
  });

  it("answers with a tool_use block, streamed as input_json_delta", async () => {
    const toolCall = { name: "get_weather", arguments: '{"city":"Paris","days":3}' };
    const tools = [{ name: "get_weather", input_schema: { type: "object" as const, properties: {} } }];
    const message = await client.messages.create({ ...request, tools }, withFault({ toolCall }));
    expect(message.stop_reason).toBe("tool_use");
    const block = message.content[0]!;
    expect(block.type).toBe("tool_use");
    expect(block.type === "tool_use" && [block.name, block.input]).toEqual([
      "get_weather",
      { city: "Paris", days: 3 },
    ]);

    const final = await client.messages.stream({ ...request, tools }, withFault({ toolCall })).finalMessage();
    const streamed = final.content[0]!;
    expect(streamed.type === "tool_use" && streamed.input).toEqual({ city: "Paris", days: 3 });
    expect(final.stop_reason).toBe("tool_use");
  });

  it("answers errors in Anthropic's shape, including 529 overloaded_error", async () => {
    const error = await client.messages
      .create(request, withFault({ status: 529, retryAfterSeconds: 3 }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(529);
    expect(apiError.error).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
    expect(apiError.headers?.get("retry-after")).toBe("3");

    const limited = await client.messages
      .create(request, withFault({ status: 429 }))
      .catch((caught: unknown) => caught);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
  });

  it("counts tokens", async () => {
    const counted = await client.messages.countTokens({
      model: request.model,
      system: request.system,
      messages: request.messages,
    });
    expect(counted.input_tokens).toBe(INPUT_TOKENS);
  });

  it("stops at max_tokens", async () => {
    const message = await client.messages.create({ ...request, max_tokens: 4 });
    expect(message.stop_reason).toBe("max_tokens");
    expect(message.usage.output_tokens).toBe(4);
  });
});
