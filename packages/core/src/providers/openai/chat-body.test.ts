/**
 * The chat body sent upstream is built key by key (chatBody) instead of with object spreads: the
 * same JSON text as the spread it replaces, for plain calls (stream_options dropped, stream false)
 * and streams (usage always asked for, the client's other stream options kept).
 */
import { describe, expect, it } from "vitest";
import type { ChatRequest } from "../types";
import { chatBody } from "./openai-provider";

/** What the provider sent before: the object spreads. */
function spread(request: ChatRequest, model: string, stream: boolean): string {
  if (!stream) {
    const { stream_options: _streamOptions, ...rest } = request;
    return JSON.stringify({ ...rest, model, stream: false });
  }
  const streamOptions = { ...((request.stream_options as object | undefined) ?? {}), include_usage: true };
  return JSON.stringify({ ...request, model, stream: true, stream_options: streamOptions });
}

const messages = [{ role: "user", content: 'hé "quoted" \u2028' }];
const requests: ChatRequest[] = [
  { model: "group", messages },
  { model: "group", messages, temperature: 0.2, stream: true, stream_options: { include_usage: true } },
  { messages, model: "group", stream: false, stream_options: { include_usage: false, extra: 1 }, user: "u" },
  { stream_options: { include_obfuscation: false }, messages, model: "group", stream: true, n: undefined },
  { model: "group", messages, tools: [{ type: "function", function: { name: "f", parameters: {} } }] },
] as ChatRequest[];

describe("chatBody", () => {
  it("gives the same JSON as the object spreads, plain and streamed", () => {
    for (const request of requests)
      for (const stream of [false, true])
        expect(JSON.stringify(chatBody(request, "upstream-model", stream))).toBe(
          spread(request, "upstream-model", stream),
        );
  });

  it("leaves the request as it was", () => {
    const request = { model: "group", messages, stream: true, stream_options: { include_usage: false } };
    const copy = structuredClone(request);
    chatBody(request as ChatRequest, "m", true);
    chatBody(request as ChatRequest, "m", false);
    expect(request).toEqual(copy);
  });
});
