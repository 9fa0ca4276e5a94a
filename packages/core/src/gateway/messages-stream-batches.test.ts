/**
 * The Anthropic Messages stream is driven one upstream read at a time, as the chat stream is: the
 * native decoder hands over every event of one read at once and /v1/messages writes them together.
 * A real node:http upstream scripts its writes exactly; checked: order and bytes of the events, usage
 * and cost, an in-band error after the events before it, a stream cut before message_stop, and a
 * client that leaves mid-stream (the upstream released, the call recorded as aborted).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isLlmuxError } from "../errors/llmux-error";
import { anthropicNativeBody } from "../providers/anthropic/anthropic-stream";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";
import { AttemptSignal } from "../router/attempt-signal";

const context = { provider: "anthropic", deploymentId: "d1", signal: new AttemptSignal() };

const start = JSON.stringify({
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [],
    usage: { input_tokens: 9, output_tokens: 1 },
  },
});
const blockStart = JSON.stringify({
  type: "content_block_start",
  index: 0,
  content_block: { type: "text", text: "" },
});
const delta = (index: number) =>
  JSON.stringify({
    type: "content_block_delta",
    index: 0,
    delta: { type: "text_delta", text: `w${index} ` },
  });
const blockStop = JSON.stringify({ type: "content_block_stop", index: 0 });
const messageDelta = JSON.stringify({
  type: "message_delta",
  delta: { stop_reason: "end_turn" },
  usage: { output_tokens: 30 },
});
const stop = JSON.stringify({ type: "message_stop" });
const typeOf = (data: string) => (JSON.parse(data) as { type: string }).type;
const sse = (events: string[]) => events.map((data) => `event: ${typeOf(data)}\ndata: ${data}\n\n`).join("");
const whole = (deltas: number) => [
  start,
  blockStart,
  ...Array.from({ length: deltas }, (_, index) => delta(index)),
  blockStop,
  messageDelta,
  stop,
];

describe("anthropicNativeBody.nextBatch", () => {
  it("hands over every event of one read at once, usage on message_delta, then ends at message_stop", async () => {
    const events = whole(20);
    const stream = anthropicNativeBody(Readable.from([Buffer.from(sse(events))]), context);
    const batch = await stream.nextBatch();
    expect(batch?.map((item) => item.raw)).toEqual(events);
    const withUsage = batch?.filter((item) => item.usage);
    expect(withUsage?.map((item) => item.event.type)).toEqual(["message_delta"]);
    expect(withUsage?.[0]?.usage).toMatchObject({ inputTokens: 9, outputTokens: 30, totalTokens: 39 });
    expect(await stream.nextBatch()).toBeUndefined();
  });

  it("an event split across reads comes with the read that completes it; next() gives the same items", async () => {
    const text = sse(whole(2));
    const cut = text.indexOf(delta(1)) + 10;
    const stream = anthropicNativeBody(
      Readable.from([Buffer.from(text.slice(0, cut)), Buffer.from(text.slice(cut))]),
      context,
    );
    expect((await stream.nextBatch())?.map((item) => item.raw)).toEqual([start, blockStart, delta(0)]);
    const rest: Array<string | undefined> = [];
    for await (const item of stream) rest.push(item.raw);
    expect(rest).toEqual([delta(1), blockStop, messageDelta, stop]);
  });

  it("an error event after some events of the same read: those events first, then the error", async () => {
    const error = JSON.stringify({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
    });
    const stream = anthropicNativeBody(
      Readable.from([Buffer.from(sse([start, blockStart, delta(0), error, delta(1)]))]),
      context,
    );
    expect((await stream.nextBatch())?.map((item) => item.raw)).toEqual([start, blockStart, delta(0)]);
    const failure = await stream.nextBatch().catch((thrown: unknown) => thrown);
    expect(isLlmuxError(failure) && failure.message).toContain("Overloaded");
  });

  it("a body that ends before message_stop is a connection error", async () => {
    const stream = anthropicNativeBody(
      Readable.from([Buffer.from(sse([start, blockStart, delta(0)]))]),
      context,
    );
    expect((await stream.nextBatch())?.length).toBe(3);
    const failure = await stream.nextBatch().catch((thrown: unknown) => thrown);
    expect(isLlmuxError(failure) && failure.message).toContain("ended before message_stop");
  });
});

describe("a batched Messages stream through the gateway", () => {
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
          model_name: "claude",
          litellm_params: {
            model: "anthropic/claude-sonnet-4-5",
            api_base: `http://127.0.0.1:${port}`,
            api_key: "sk-ant-up",
            timeout: 2,
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

  const openStream = () =>
    fetch(`${app.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: "claude",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      }),
    });

  /** The SSE events a client received: [event name, data]. */
  const eventsOf = (text: string) =>
    text
      .split("\n\n")
      .filter((block) => block.includes("data: "))
      .map((block) => {
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? "";
        return [name, data] as const;
      });

  it("many events in one upstream read reach the client in order, the final usage with its cost", async () => {
    const events = whole(60);
    script = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(sse(events));
    };
    const response = await openStream();
    expect(response.status).toBe(200);
    const received = eventsOf(await response.text());
    expect(received.map(([name]) => name)).toEqual(events.map(typeOf));
    // every event but message_delta forwarded byte for byte; message_delta gains the cost
    expect(received.filter(([name]) => name !== "message_delta").map(([, data]) => data)).toEqual(
      events.filter((data) => typeOf(data) !== "message_delta"),
    );
    const finalUsage = JSON.parse(received.find(([name]) => name === "message_delta")![1]) as {
      usage: { output_tokens: number; cost: number };
    };
    expect(finalUsage.usage.output_tokens).toBe(30);
    const [event] = await app.flushEvents();
    expect(event?.status).toBe("success");
    expect(event?.usage).toMatchObject({ inputTokens: 9, outputTokens: 30, totalTokens: 39 });
    expect(event?.cost?.total).toBeGreaterThan(0);
    expect(finalUsage.usage.cost).toBe(event?.cost?.total);
  });

  it("an upstream error event mid-stream reaches the client in-band after the events before it", async () => {
    const error = JSON.stringify({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
    });
    script = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(sse([start, blockStart, delta(0), error]));
    };
    const response = await openStream();
    const received = eventsOf(await response.text());
    expect(received.slice(0, 3).map(([, data]) => data)).toEqual([start, blockStart, delta(0)]);
    expect(received.at(-1)?.[0]).toBe("error");
    expect(received.at(-1)?.[1]).toContain("Overloaded");
    const [event] = await app.flushEvents();
    expect(event?.status).toBe("failure");
  });

  it("a client that leaves mid-stream releases the upstream; the call is recorded as aborted", async () => {
    let writeMore: (() => void) | undefined;
    script = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(sse([start, blockStart, ...Array.from({ length: 20 }, (_, index) => delta(index))]));
      writeMore = () => response.write(sse([delta(20), delta(21)]));
    };
    const response = await openStream();
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain(`data: ${start}\n\n`);
    await reader.cancel();
    writeMore?.();
    await upstreamClosed;
    await expect.poll(() => app.events.length).toBe(1);
    expect(app.events[0]?.status).toBe("failure");
    expect(app.events[0]?.error?.type).toBe("aborted");
  });
});
