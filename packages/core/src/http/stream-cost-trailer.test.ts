/**
 * A stream's cost is unknown when its headers leave, so it comes after the last event: the
 * `x-llmux-response-cost` HTTP trailer (declared in the `Trailer` response header), equal to the
 * call event's cost and to `usage.cost` of the final usage chunk when the client asked for usage.
 * Read with node:http (fetch exposes no trailers) and with the official openai client.
 */
import { request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

let app: TestGateway;

beforeAll(async () => {
  app = await startTestGateway({
    model_list: [
      {
        model_name: "priced",
        litellm_params: {
          model: "mock/gpt-4o-mini",
          input_cost_per_token: 0.00000015,
          output_cost_per_token: 0.0000006,
        },
      },
    ],
  });
});

afterAll(async () => {
  await app?.close();
});

interface RawAnswer {
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
  text: string;
}

function post(path: string, body: unknown): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, app.url);
    const outgoing = httpRequest(
      url,
      { method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" } },
      (incoming) => {
        let text = "";
        incoming.setEncoding("utf8");
        incoming.on("data", (chunk: string) => {
          text += chunk;
        });
        incoming.on("end", () => resolve({ headers: incoming.headers, trailers: incoming.trailers, text }));
        incoming.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(JSON.stringify(body));
  });
}

async function eventCost(callId: string): Promise<number | undefined> {
  const events = await app.flushEvents();
  return events.find((event) => event.callId === callId)?.cost?.total;
}

describe("the cost of a stream", () => {
  it("chat completions: declared in Trailer, sent as the x-llmux-response-cost trailer, equal to usage.cost", async () => {
    const answer = await post("/v1/chat/completions", {
      model: "priced",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Tell me a short story" }],
    });
    expect(answer.headers["content-type"]).toContain("text/event-stream");
    expect(answer.headers.trailer).toBe("x-llmux-response-cost");
    // not in the headers: it was not known yet
    expect(answer.headers["x-llmux-response-cost"]).toBeUndefined();
    const trailer = Number(answer.trailers["x-llmux-response-cost"]);
    const usageChunk = answer.text
      .split("\n\n")
      .map((block) => block.replace(/^data: /, ""))
      .filter((payload) => payload.startsWith("{"))
      .map((payload) => JSON.parse(payload) as { usage?: { cost?: number } })
      .find((chunk) => chunk.usage);
    const fromEvent = await eventCost(String(answer.headers["x-llmux-call-id"]));
    console.log(
      `[stream cost] trailer ${trailer}, usage.cost ${usageChunk?.usage?.cost}, event ${fromEvent}`,
    );
    expect(trailer).toBeGreaterThan(0);
    expect(trailer).toBe(fromEvent);
    expect(usageChunk?.usage?.cost).toBe(trailer);
  });

  it("anthropic messages and legacy completions streams carry the trailer too", async () => {
    const messages = await post("/v1/messages", {
      model: "priced",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(messages.headers.trailer).toBe("x-llmux-response-cost");
    expect(Number(messages.trailers["x-llmux-response-cost"])).toBe(
      await eventCost(String(messages.headers["x-llmux-call-id"])),
    );
    const completions = await post("/v1/completions", { model: "priced", prompt: "Once", stream: true });
    expect(completions.headers.trailer).toBe("x-llmux-response-cost");
    expect(Number(completions.trailers["x-llmux-response-cost"])).toBeGreaterThan(0);
  });

  it("the official openai client reads such a stream to the end", async () => {
    const client = new OpenAI({ apiKey: "unused", baseURL: `${app.url}/v1` });
    const stream = await client.chat.completions.create({
      model: "priced",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Hi" }],
    });
    let text = "";
    let usage: (OpenAI.CompletionUsage & { cost?: number }) | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.cost).toBeGreaterThan(0);
  });
});
