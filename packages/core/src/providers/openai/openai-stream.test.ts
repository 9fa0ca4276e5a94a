import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ChunksToEvents } from "../../anthropic-format/chunks-to-events";
import { isLlmuxError } from "../../errors/llmux-error";
import type { StreamItem } from "../types";
import { isContentOnly, openAiStream } from "./openai-stream";

const context = { provider: "openai", deploymentId: "d1", signal: new AbortController().signal };

async function collect(events: string[]): Promise<StreamItem[]> {
  const body = Readable.from([Buffer.from(events.map((event) => `data: ${event}\n\n`).join(""))]);
  const items: StreamItem[] = [];
  for await (const item of openAiStream(body, context)) items.push(item);
  return items;
}

describe("openAiStream: events forwarded without parsing", () => {
  it("tells content-only events from those with usage, errors or finish reasons, without parsing", () => {
    const content =
      '{"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null}';
    expect(isContentOnly(content)).toBe(true);
    expect(isContentOnly('{"choices":[{"delta":{"content":"say \\"usage\\": 5, \\"error\\": 1"}}]}')).toBe(
      true,
    );
    expect(isContentOnly('{"choices":[{"delta":{"content":"usage"}}],"x":"error"}')).toBe(true);
    expect(isContentOnly('{"choices":[{"delta":{},"finish_reason":"stop"}]}')).toBe(false);
    expect(isContentOnly('{"choices":[],"usage":{"prompt_tokens":1}}')).toBe(false);
    expect(isContentOnly('{"choices":[] , "usage" :\n {"prompt_tokens":1}}')).toBe(false);
    expect(isContentOnly('{"choices":[{"finish_reason":null},{"finish_reason":"length"}]}')).toBe(false);
    expect(isContentOnly('{"error":{"message":"boom"}}')).toBe(false);
    expect(isContentOnly("[1]")).toBe(false);
    expect(isContentOnly('{"truncated":')).toBe(false);
  });

  it("yields content events as their raw text, parsed only when read; usage and finish parsed", async () => {
    const content =
      '{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}';
    const finish = '{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}';
    const usage =
      '{"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}';
    const items = await collect([content, finish, usage, "[DONE]"]);
    expect(items.map((item) => item.raw)).toEqual([content, finish, usage]);
    expect(items.map((item) => item.contentOnly === true)).toEqual([true, false, false]);
    expect(items[0]!.chunk).toEqual(JSON.parse(content));
    expect(items[2]!.usage).toMatchObject({ inputTokens: 3, outputTokens: 2, totalTokens: 5 });
    expect(items[2]!.usageOnly).toBe(true);
  });

  it("an event that is not valid JSON fails the stream when its chunk is read", async () => {
    const items = await collect(['{"choices":[{"delta":{"content":"a"}}] oops}', "[DONE]"]);
    let error: unknown;
    try {
      void items[0]!.chunk;
    } catch (thrown) {
      error = thrown;
    }
    expect(isLlmuxError(error) && error.message).toBe("openai sent a stream event that is not valid JSON");
    // one that cannot be an object is refused at once, as before
    await expect(collect(["not json", "[DONE]"])).rejects.toThrow("not valid JSON");
  });

  it("in-band errors and streams cut before a finish reason still fail", async () => {
    await expect(collect(['{"error":{"message":"overloaded","type":"server_error"}}'])).rejects.toThrow(
      "overloaded",
    );
    const content = '{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}';
    await expect(collect([content])).rejects.toThrow("stream ended before [DONE]");
  });
});

describe("openAiStream: the content of plain content events", () => {
  const event = (delta: string, finish = "null", usage = "null") =>
    `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}],"usage":${usage}}`;
  const events = [
    event('{"role":"assistant","content":"","refusal":null}'),
    ...["Mock", " reply", ' with "quotes"', "", " and 東京"].map((text) =>
      event(`{"content":${JSON.stringify(text)}}`),
    ),
    event('{"content":"a","tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}'),
    event('{"content":"again"}'),
    event("{}", '"stop"'),
    event("{}", "null", '{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}').replace(
      '"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":null}]',
      '"choices":[]',
    ),
    "[DONE]",
  ];

  it("is on each item whose delta is one content string, as parsing the event gives it", async () => {
    const items = await collect(events);
    expect(items).toHaveLength(events.length - 1);
    const expected = events.slice(0, -1).map((raw) => {
      const delta = (JSON.parse(raw) as { choices: Array<{ delta: Record<string, unknown> }> }).choices[0]
        ?.delta;
      return delta && Object.keys(delta).length === 1 && typeof delta.content === "string"
        ? delta.content
        : undefined;
    });
    expect(items.map((item) => item.deltaContent)).toEqual(expected);
    // the first plain event was checked in full and learned; the next ones matched its shape
    expect(expected.filter((content) => content !== undefined)).toHaveLength(6);
  });

  it.each([
    ["with", events],
    ["without", events.slice(1)],
  ])(
    "Anthropic events translated from the items are the same as from the parsed chunks (%s a role event first)",
    async (_, stream) => {
      const items = await collect(stream);
      const fromItems = new ChunksToEvents({ id: "msg_1", model: "gpt-4o", estimatedInputTokens: 3 });
      const fromChunks = new ChunksToEvents({ id: "msg_1", model: "gpt-4o", estimatedInputTokens: 3 });
      for (const item of items) {
        const parsed: StreamItem = { chunk: JSON.parse(item.raw!) as Record<string, unknown> };
        if (item.usage) parsed.usage = item.usage;
        expect(fromItems.push(item)).toEqual(fromChunks.push(parsed));
      }
      expect(fromItems.finish()).toEqual(fromChunks.finish());
    },
  );
});
