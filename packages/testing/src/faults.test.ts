import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockProvider } from "./mock-provider.js";
import type { Fault, MockProvider } from "./types.js";

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

const messages = [{ role: "user" as const, content: "fault injection" }];

function withFault(fault: Fault) {
  return { headers: { "x-mock-fault": JSON.stringify(fault) } };
}

function post(path: string, body: unknown, fault?: Fault, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (fault) headers["x-mock-fault"] = JSON.stringify(fault);
  return fetch(`${mock.url}${path}`, { method: "POST", headers, body: JSON.stringify(body), signal });
}

describe("faults", () => {
  it("headers: extra response headers on an answer (rate-limit headers as OpenAI and Anthropic send them)", async () => {
    const headers = { "x-ratelimit-remaining-requests": "4999", "x-ratelimit-remaining-tokens": "159000" };
    const { response } = await client.chat.completions
      .create({ model: "gpt-4o", messages }, withFault({ headers }))
      .withResponse();
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("4999");
    expect(response.headers.get("x-ratelimit-remaining-tokens")).toBe("159000");
    const stream = await post(
      "/v1/messages",
      { model: "claude", max_tokens: 5, stream: true, messages },
      {
        headers: { "anthropic-ratelimit-requests-remaining": "49" },
      },
    );
    expect(stream.headers.get("anthropic-ratelimit-requests-remaining")).toBe("49");
    await stream.text();
  });

  it("status + retry-after: a 429 in OpenAI's error shape with retry-after and retry-after-ms", async () => {
    // Sent: x-mock-fault {status 429, retryAfterSeconds 2, retryAfterMs 1500}. Expected: RateLimitError with both headers.
    const error = await client.chat.completions
      .create(
        { model: "gpt-4o", messages },
        withFault({ status: 429, retryAfterSeconds: 2, retryAfterMs: 1500 }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers.get("retry-after")).toBe("2");
    expect(rateLimit.headers.get("retry-after-ms")).toBe("1500");
    expect(rateLimit.code).toBe("rate_limit_exceeded");

    // A 503 through the body field mock_fault; and a custom error body (context window exceeded).
    const unavailable = await post("/v1/chat/completions", {
      model: "m",
      messages,
      mock_fault: { status: 503 },
    });
    expect(unavailable.status).toBe(503);
    expect(((await unavailable.json()) as { error: { type: string } }).error.type).toBe("server_error");
    const custom = await post(
      "/v1/chat/completions",
      { model: "m", messages },
      {
        status: 400,
        body: {
          error: { message: "too long", type: "invalid_request_error", code: "context_length_exceeded" },
        },
      },
    );
    expect(custom.status).toBe(400);
    expect(await custom.json()).toEqual({
      error: { message: "too long", type: "invalid_request_error", code: "context_length_exceeded" },
    });
  });

  it("latencyMs delays the response headers", async () => {
    const started = performance.now();
    const completion = await client.chat.completions.create(
      { model: "gpt-4o", messages },
      withFault({ latencyMs: 150 }),
    );
    const elapsed = performance.now() - started;
    console.log(`latencyMs 150 → answered after ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(completion.choices[0]!.message.content).toMatch(/^Mock reply:/);
  });

  it("firstChunkDelayMs sends stream headers at once and the first chunk later", async () => {
    const started = performance.now();
    const response = await post(
      "/v1/chat/completions",
      { model: "m", messages, stream: true },
      { firstChunkDelayMs: 200 },
    );
    const headersAt = performance.now() - started;
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.getReader();
    const first = await reader.read();
    const firstChunkAt = performance.now() - started;
    console.log(`headers after ${headersAt.toFixed(0)} ms, first chunk after ${firstChunkAt.toFixed(0)} ms`);
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
    expect(firstChunkAt - headersAt).toBeGreaterThanOrEqual(150);
    await reader.cancel();
  });

  it("chunkDelayMs spaces the chunks", async () => {
    const started = performance.now();
    const stream = await client.chat.completions.create(
      { model: "gpt-4o", messages, stream: true },
      withFault({ chunkDelayMs: 15 }),
    );
    let count = 0;
    for await (const _chunk of stream) count++;
    const elapsed = performance.now() - started;
    // 14 chunks → at least 13 gaps of 15 ms.
    console.log(`14 chunks 15 ms apart took ${elapsed.toFixed(0)} ms`);
    expect(count).toBe(14);
    expect(elapsed).toBeGreaterThanOrEqual(13 * 15 * 0.9);
  });

  it("hang never answers; a client abort resolves clientClosed with true", async () => {
    // Sent: a request with {hang: true}, aborted by the client once the mock has recorded it.
    const controller = new AbortController();
    const pending = post(
      "/v1/chat/completions",
      { model: "m", messages },
      { hang: true },
      controller.signal,
    ).catch((caught: unknown) => caught);
    const [recorded] = await mock.waitForRequests(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    expect(await recorded!.clientClosed).toBe(true);
    expect(recorded!.completed).toBe(false);
  });

  it("a client abort during latencyMs also resolves clientClosed with true", async () => {
    const controller = new AbortController();
    const pending = client.chat.completions
      .create({ model: "m", messages }, { ...withFault({ latencyMs: 60_000 }), signal: controller.signal })
      .catch((caught: unknown) => caught);
    const [recorded] = await mock.waitForRequests(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(await recorded!.clientClosed).toBe(true);
  });

  it("a client abort in the middle of a slow stream resolves clientClosed with true", async () => {
    // Sent: a stream with 50 ms between chunks; the client aborts after reading 2 chunks.
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "gpt-4o", messages, stream: true },
      { ...withFault({ chunkDelayMs: 50 }), signal: controller.signal },
    );
    let read = 0;
    // The SDK ends the iteration quietly on an abort.
    await (async () => {
      for await (const _chunk of stream) {
        read++;
        if (read === 2) controller.abort();
      }
    })().catch(() => undefined);
    expect(read).toBe(2);
    const [recorded] = await mock.waitForRequests(1);
    expect(await recorded!.clientClosed).toBe(true);
    expect(recorded!.completed).toBe(false);
  });

  it("disconnectAfterChunks destroys the connection mid-stream", async () => {
    // Sent: a stream with {disconnectAfterChunks: 3}. Expected: 3 chunks (role + 2 words), then a network error.
    // One retry for the request itself: a pooled keep-alive socket that the previous test's abort left
    // half-closed can fail before any byte is read (seen once in CI as "other side closed", 0 bytes
    // read). The cut under test happens after 3 chunks, which a retry reproduces just the same.
    const stream = await client.chat.completions.create(
      { model: "gpt-4o", messages, stream: true },
      { ...withFault({ disconnectAfterChunks: 3 }), maxRetries: 1 },
    );
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(received).toHaveLength(3);
    expect(received.join("")).toBe("Mock reply:");
    const [recorded] = await mock.waitForRequests(1);
    expect(await recorded!.clientClosed).toBe(false);
    expect(recorded!.completed).toBe(false);

    // Non-streaming: the headers and half the body, then the connection drops.
    const broken = await post("/v1/chat/completions", { model: "m", messages }, { disconnectAfterChunks: 0 });
    expect(broken.status).toBe(200);
    await expect(broken.text()).rejects.toThrow();
  });

  it("malformed json: invalid JSON body / a broken stream event", async () => {
    const body = await post("/v1/chat/completions", { model: "m", messages }, { malformed: "json" });
    expect(body.status).toBe(200);
    const text = await body.text();
    expect(() => JSON.parse(text)).toThrow();

    const stream = await client.chat.completions.create(
      { model: "gpt-4o", messages, stream: true },
      withFault({ malformed: "json" }),
    );
    const error = await (async () => {
      for await (const _chunk of stream) {
        // drain
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
  });

  it("malformed sse: a line without the data: field and no [DONE]", async () => {
    const response = await post(
      "/v1/chat/completions",
      { model: "m", messages, stream: true },
      { malformed: "sse" },
    );
    const text = await response.text();
    const lines = text.split("\n").filter((line) => line.length > 0);
    expect(lines[0]).toMatch(/^data: \{/);
    expect(lines[1]).toMatch(/^\{"id":/);
    expect(text).not.toContain("[DONE]");
  });

  it("content, usage and finishReason overrides", async () => {
    const completion = await client.chat.completions.create(
      { model: "gpt-4o", messages },
      withFault({
        content: "Exactly these five words",
        finishReason: "content_filter",
        usage: { prompt_tokens: 1000, completion_tokens: 7 },
      }),
    );
    expect(completion.choices[0]!.message.content).toBe("Exactly these five words");
    expect(completion.choices[0]!.finish_reason).toBe("content_filter");
    expect(completion.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 7, total_tokens: 1007 });
  });

  it("body without status replaces the answer with a 200 and exactly that body", async () => {
    const response = await post(
      "/v1/chat/completions",
      { model: "m", messages },
      { body: { anything: ["goes"] } },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ anything: ["goes"] });
  });

  it("an invalid x-mock-fault header is a 400", async () => {
    const response = await fetch(`${mock.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "x-mock-fault": "{not json" },
      body: JSON.stringify({ model: "m", messages }),
    });
    expect(response.status).toBe(400);
  });
});
