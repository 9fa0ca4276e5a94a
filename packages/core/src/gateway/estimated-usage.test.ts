/**
 * Streams whose upstream reports no usage (OpenAI-compatible servers that ignore
 * stream_options.include_usage): the gateway counts the prompt and the produced text with the
 * tokenizer, prices that, and marks the call event `usageEstimated`. The upstream here is a small
 * SSE server in this file that never sends a usage chunk.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";
import { loadTokenizer } from "../tokens/tokenizer";

const WORDS = ["吾輩は", "猫で", "ある。"];
let upstream: Server;
let app: TestGateway;

beforeAll(async () => {
  await loadTokenizer("o200k_base");
  upstream = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      const base = { id: "c1", object: "chat.completion.chunk", created: 1, model: "gpt-4o" };
      for (const word of WORDS)
        response.write(
          `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: word } }] })}\n\n`,
        );
      response.write(
        `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`,
      );
      response.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const port = (upstream.address() as AddressInfo).port;
  app = await startTestGateway({
    model_list: [
      {
        model_name: "gpt-4o",
        litellm_params: {
          model: "openai/gpt-4o",
          api_base: `http://127.0.0.1:${port}/v1`,
          api_key: "sk-x",
          input_cost_per_token: 0.000001,
          output_cost_per_token: 0.000002,
        },
      },
    ],
  });
});

afterAll(async () => {
  await app?.close();
  upstream?.close();
});

describe("usage of streams without a usage chunk", () => {
  it("chat: counted with the tokenizer, priced, and marked as an estimate in the call event", async () => {
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", stream: true, messages: [{ role: "user", content: "Hello" }] }),
    });
    await response.text();
    const events = await app.flushEvents();
    const event = events.find((candidate) => candidate.callId === response.headers.get("x-llmux-call-id"))!;
    // "Hello": 1 token + 3 framing + 3 priming; "吾輩は猫である。" is 8 tokens in o200k_base (js-tiktoken agrees).
    expect(event.usage).toMatchObject({ inputTokens: 7, outputTokens: 8, totalTokens: 15 });
    expect(event.usageEstimated).toBe(true);
    expect(event.cost?.total).toBeCloseTo(7 * 0.000001 + 8 * 0.000002, 12);
  });

  it("responses (translated): the same count in response.completed, marked in the event", async () => {
    const response = await fetch(`${app.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", stream: true, input: "Hello" }),
    });
    const text = await response.text();
    const completed = JSON.parse(/data: (.*"response.completed".*)/.exec(text)![1]!) as {
      response: { usage: { output_tokens: number } };
    };
    expect(completed.response.usage.output_tokens).toBe(8);
    const events = await app.flushEvents();
    const event = events.find((candidate) => candidate.callId === response.headers.get("x-llmux-call-id"))!;
    expect(event.usageEstimated).toBe(true);
    expect(event.usage?.outputTokens).toBe(8);
  });
});
