/**
 * Streams are driven one upstream read at a time: every event decoded from one read is handed over
 * together and written to the client in one write. These tests control the upstream's writes exactly
 * (a real node:http upstream) and check what batching must keep: order, usage and cost, in-band
 * errors after the events before them, the idle timeout between reads, and a client that leaves
 * mid-stream (the upstream is released and the call recorded as aborted).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isLlmuxError } from "../errors/llmux-error";
import { openAiStream } from "../providers/openai/openai-stream";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

const context = { provider: "openai", deploymentId: "d1", signal: new AbortController().signal };

function content(index: number): string {
  return JSON.stringify({
    id: "c1",
    object: "chat.completion.chunk",
    model: "gpt-4o",
    choices: [{ index: 0, delta: { content: `w${index} ` }, finish_reason: null }],
  });
}
const finish = JSON.stringify({
  id: "c1",
  object: "chat.completion.chunk",
  model: "gpt-4o",
  choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
});
const usage = JSON.stringify({
  id: "c1",
  object: "chat.completion.chunk",
  model: "gpt-4o",
  choices: [],
  usage: { prompt_tokens: 7, completion_tokens: 40, total_tokens: 47 },
});
const sse = (events: string[]) => events.map((event) => `data: ${event}\n\n`).join("");

describe("openAiStream.nextBatch", () => {
  it("hands over every event of one read at once, then ends at [DONE]", async () => {
    const events = [...Array.from({ length: 40 }, (_, index) => content(index)), finish, usage];
    const stream = openAiStream(Readable.from([Buffer.from(sse([...events, "[DONE]"]))]), context);
    const batch = await stream.nextBatch();
    expect(batch?.map((item) => item.raw)).toEqual(events);
    expect(batch?.at(-1)?.usage).toMatchObject({ inputTokens: 7, outputTokens: 40, totalTokens: 47 });
    expect(await stream.nextBatch()).toBeUndefined();
  });

  it("an event split across reads is handed over with the read that completes it", async () => {
    const text = sse([content(0), content(1), finish, "[DONE]"]);
    const cut = text.indexOf(content(1)) + 10;
    const stream = openAiStream(
      Readable.from([Buffer.from(text.slice(0, cut)), Buffer.from(text.slice(cut))]),
      context,
    );
    expect((await stream.nextBatch())?.map((item) => item.raw)).toEqual([content(0)]);
    expect((await stream.nextBatch())?.map((item) => item.raw)).toEqual([content(1), finish]);
    expect(await stream.nextBatch()).toBeUndefined();
  });

  it("an in-band error after some events of the same read: those events first, then the error", async () => {
    const error = JSON.stringify({ error: { message: "overloaded", type: "server_error" } });
    const stream = openAiStream(
      Readable.from([Buffer.from(sse([content(0), content(1), error, content(2)]))]),
      context,
    );
    expect((await stream.nextBatch())?.map((item) => item.raw)).toEqual([content(0), content(1)]);
    const failure = await stream.nextBatch().catch((thrown: unknown) => thrown);
    expect(isLlmuxError(failure) && failure.message).toContain("overloaded");
  });

  it("next() gives the same items one at a time", async () => {
    const stream = openAiStream(
      Readable.from([Buffer.from(sse([content(0), content(1), finish, "[DONE]"]))]),
      context,
    );
    const raws: Array<string | undefined> = [];
    for await (const item of stream) raws.push(item.raw);
    expect(raws).toEqual([content(0), content(1), finish]);
  });
});

describe("a batched stream through the gateway", () => {
  /** What the upstream does with the next stream request. */
  let script: (request: IncomingMessage, response: ServerResponse) => void;
  let upstreamClosed: Promise<void>;
  let upstream: Server;
  let app: TestGateway;

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        upstreamClosed = new Promise((resolve) => response.on("close", () => resolve()));
        script(request, response);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const { port } = upstream.address() as AddressInfo;
    app = await startTestGateway({
      model_list: [
        {
          model_name: "gpt",
          // 0.4 s: the idle timeout between upstream reads once the first one arrived
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: `http://127.0.0.1:${port}/v1`,
            api_key: "sk-up",
            timeout: 0.4,
          },
        },
      ],
      router_settings: { num_retries: 0 },
    });
  });
  afterEach(() => {
    app.events.length = 0;
  });
  afterAll(async () => {
    await app?.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  const openStream = (body: Record<string, unknown> = {}) =>
    fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        ...body,
      }),
    });

  it("many events in one upstream read reach the client in order, with exact usage and cost", async () => {
    const events = [...Array.from({ length: 60 }, (_, index) => content(index)), finish, usage];
    script = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(sse([...events, "[DONE]"]));
    };
    const response = await openStream({ stream_options: { include_usage: true } });
    const text = await response.text();
    const data = text
      .split("\n\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => line.slice(6));
    expect(data.at(-1)).toBe("[DONE]");
    expect(data.slice(0, 61)).toEqual(events.slice(0, 61));
    const usageChunk = JSON.parse(data[61]!) as { usage: { total_tokens: number; cost: number } };
    expect(usageChunk.usage.total_tokens).toBe(47);
    const [event] = await app.flushEvents();
    expect(event?.status).toBe("success");
    expect(event?.usage).toMatchObject({ inputTokens: 7, outputTokens: 40, totalTokens: 47 });
    expect(event?.cost?.total).toBeGreaterThan(0);
    expect(usageChunk.usage.cost).toBe(event?.cost?.total);
  });

  it("a stream silent past the idle timeout after its first read ends with an in-band error", async () => {
    script = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(sse([content(0), content(1), content(2)]));
      // then nothing: the idle timer (0.4 s) ends the call
    };
    const response = await openStream();
    const text = await response.text();
    expect(text).toContain(`data: ${content(2)}\n\n`);
    expect(text).toMatch(/"type":"timeout_error"|timed out|timeout/i);
    expect(text).not.toContain("[DONE]");
    await upstreamClosed;
    const [event] = await app.flushEvents();
    expect(event?.status).toBe("failure");
    expect(event?.error?.type).toBe("timeout");
  });

  it("a call deadline inside the idle window ends a stream that keeps sending: reads do not push it back", async () => {
    let interval: NodeJS.Timeout | undefined;
    script = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      let index = 0;
      // one event every 40 ms, never [DONE]: only the call's 0.25 s deadline can end it
      interval = setInterval(() => response.write(sse([content(index++)])), 40);
      response.on("close", () => clearInterval(interval));
    };
    const started = Date.now();
    const response = await openStream({ timeout: 0.25 });
    const text = await response.text();
    const elapsed = Date.now() - started;
    clearInterval(interval);
    // sent: timeout 0.25 s (idle gap 0.4 s); got: the events of ~0.25 s, then the deadline's in-band error
    expect(text).toContain(`data: ${content(2)}\n\n`);
    expect(text).toMatch(/exceeded its timeout of 250 ms/);
    expect(text).not.toContain("[DONE]");
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(390);
    await upstreamClosed;
    const [event] = await app.flushEvents();
    expect(event?.status).toBe("failure");
    expect(event?.error?.type).toBe("timeout");
  });

  it("a client that leaves mid-stream releases the upstream; the call is recorded as aborted", async () => {
    let writeMore: (() => void) | undefined;
    script = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(sse(Array.from({ length: 20 }, (_, index) => content(index))));
      writeMore = () => response.write(sse([content(20), content(21)]));
    };
    const response = await openStream();
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain(`data: ${content(0)}\n\n`);
    await reader.cancel();
    // the next upstream read finds the client gone
    writeMore?.();
    await upstreamClosed;
    await expect.poll(() => app.events.length).toBe(1);
    expect(app.events[0]?.status).toBe("failure");
    expect(app.events[0]?.error?.type).toBe("aborted");
  });
});
