import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockProvider } from "./mock-provider.js";
import type { MockProvider } from "./types.js";

let mock: MockProvider;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider();
  client = new OpenAI({ apiKey: "sk-mock", baseURL: `${mock.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.clear());

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Say hello to the mock provider" },
];
// "You are terse." (14) + "Say hello to the mock provider" (30) = 44 characters → ceil(44 / 4) = 11 prompt tokens.
const PROMPT_TOKENS = 11;

describe("OpenAI chat completions", () => {
  it("answers a non-streaming completion deterministically with usage", async () => {
    // Sent: the same two messages twice. Expected: the same 12-word reply, 11 prompt tokens, 12 completion tokens.
    const first = await client.chat.completions.create({ model: "gpt-4o", messages });
    const second = await client.chat.completions.create({ model: "gpt-4o", messages });
    const text = first.choices[0]!.message.content!;
    expect(text.startsWith("Mock reply: ")).toBe(true);
    expect(text.split(" ")).toHaveLength(12);
    expect(second.choices[0]!.message.content).toBe(text);
    expect(first.object).toBe("chat.completion");
    expect(first.model).toBe("gpt-4o");
    expect(first.choices[0]!.finish_reason).toBe("stop");
    expect(first.usage).toMatchObject({
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: 12,
      total_tokens: PROMPT_TOKENS + 12,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    // Recorded: path, body and the Authorization header the client sent.
    const [recorded] = await mock.waitForRequests(1);
    expect(recorded!.method).toBe("POST");
    expect(recorded!.path).toBe("/v1/chat/completions");
    expect(recorded!.body.model).toBe("gpt-4o");
    expect(recorded!.headers.authorization).toBe("Bearer sk-mock");
    expect(await recorded!.clientClosed).toBe(false);
    expect(recorded!.completed).toBe(true);
  });

  it("gives a different reply to a different prompt and truncates at max_tokens", async () => {
    const a = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "a" }],
    });
    const b = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "b" }],
    });
    expect(a.choices[0]!.message.content).not.toBe(b.choices[0]!.message.content);
    // Sent max_tokens 3: the reply is cut to 3 words and finish_reason is "length".
    const short = await client.chat.completions.create({ model: "m", max_tokens: 3, messages });
    expect(short.choices[0]!.message.content!.split(" ")).toHaveLength(3);
    expect(short.choices[0]!.finish_reason).toBe("length");
    expect(short.usage!.completion_tokens).toBe(3);
  });

  it("streams one chunk per word, role first, finish_reason chunk, then [DONE]", async () => {
    const nonStream = await client.chat.completions.create({ model: "gpt-4o", messages });
    const stream = await client.chat.completions.create({ model: "gpt-4o", messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    // 1 role chunk + 12 word chunks + 1 finish chunk.
    expect(chunks).toHaveLength(14);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(nonStream.choices[0]!.message.content);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it("sends a final usage chunk with choices: [] when stream_options.include_usage is true", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      messages,
      stream: true,
      stream_options: { include_usage: true },
      mock_fault: { usage: { cached_tokens: 4, reasoning_tokens: 5 } },
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    // 12 reply words + 5 reasoning tokens = 17 completion tokens.
    expect(last.usage).toMatchObject({
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: 17,
      total_tokens: PROMPT_TOKENS + 17,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 5 },
    });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("answers with a tool call, streamed as argument fragments", async () => {
    const toolCall = { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' };
    const tools = [
      {
        type: "function" as const,
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      },
    ];
    const completion = await client.chat.completions.create(
      { model: "gpt-4o", messages, tools },
      { headers: { "x-mock-fault": JSON.stringify({ toolCall }) } },
    );
    const call = completion.choices[0]!.message.tool_calls![0]!;
    expect(call.type).toBe("function");
    expect(call.id).toMatch(/^call_/);
    expect(call.type === "function" && call.function).toEqual(toolCall);
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");

    const stream = await client.chat.completions.create(
      { model: "gpt-4o", messages, tools, stream: true },
      { headers: { "x-mock-fault": JSON.stringify({ toolCall }) } },
    );
    let name = "";
    let args = "";
    let fragments = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      for (const fragment of delta?.tool_calls ?? []) {
        name += fragment.function?.name ?? "";
        if (fragment.function?.arguments) {
          args += fragment.function.arguments;
          fragments++;
        }
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe("get_weather");
    expect(JSON.parse(args)).toEqual({ city: "Paris", unit: "celsius" });
    expect(fragments).toBeGreaterThan(1);
    expect(finish).toBe("tool_calls");
  });

  it("accepts Azure deployment paths and records the api-key header", async () => {
    const azure = new OpenAI({
      apiKey: "unused",
      baseURL: `${mock.url}/openai/deployments/my-gpt4o`,
      defaultQuery: { "api-version": "2024-10-21" },
      defaultHeaders: { "api-key": "azure-key" },
      maxRetries: 0,
    });
    const completion = await azure.chat.completions.create({ model: "gpt-4o", messages });
    expect(completion.choices[0]!.message.content).toMatch(/^Mock reply: /);
    const embedding = await azure.embeddings.create({ model: "text-embedding-3-small", input: "hi" });
    expect(embedding.data[0]!.embedding).toHaveLength(8);
    const [chat, embed] = await mock.waitForRequests(2);
    expect(chat!.path).toBe("/openai/deployments/my-gpt4o/chat/completions");
    expect(chat!.query["api-version"]).toBe("2024-10-21");
    expect(chat!.headers["api-key"]).toBe("azure-key");
    expect(embed!.path).toBe("/openai/deployments/my-gpt4o/embeddings");
  });
});

describe("OpenAI embeddings and models", () => {
  it("returns deterministic vectors (float and base64), honours dimensions, counts tokens", async () => {
    // The SDK asks for base64 by default and decodes it; float is asked for explicitly.
    const viaBase64 = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "hello world",
    });
    const viaFloat = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["hello world", "other text"],
      encoding_format: "float",
    });
    expect(viaBase64.data[0]!.embedding).toHaveLength(8);
    const floatVector = viaFloat.data[0]!.embedding;
    viaBase64.data[0]!.embedding.forEach((value, index) => {
      expect(value).toBeCloseTo(floatVector[index]!, 5);
    });
    expect(viaFloat.data).toHaveLength(2);
    expect(viaFloat.data[1]!.index).toBe(1);
    expect(viaFloat.data[1]!.embedding).not.toEqual(floatVector);
    const norm = Math.sqrt(floatVector.reduce((sum, value) => sum + value * value, 0));
    expect(norm).toBeCloseTo(1, 4);
    // "hello world" = 11 chars → 3 tokens; "other text" = 10 chars → 3 tokens.
    expect(viaFloat.usage).toEqual({ prompt_tokens: 6, total_tokens: 6 });
    const wide = await client.embeddings.create({ model: "e", input: "hello world", dimensions: 32 });
    expect(wide.data[0]!.embedding).toHaveLength(32);
  });

  it("lists models", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain("gpt-4o");
  });

  it("answers unknown routes with a 404 OpenAI error", async () => {
    const response = await fetch(`${mock.url}/v1/nothing-here`, { method: "POST", body: "{}" });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("/v1/nothing-here");
  });
});
