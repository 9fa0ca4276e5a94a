/**
 * The Anthropic ⇄ OpenAI translations on their own, for the cases the end-to-end tests do not reach
 * (thinking, PDFs, message-level cache_control, interleaved blocks). Inputs and outputs are spelled
 * out in full.
 */
import { makeUsage } from "@llmux/pricing";
import { describe, expect, it } from "vitest";
import { isLlmuxError } from "../errors/llmux-error";
import { chatToMessagesRequest } from "./chat-to-messages-request";
import { ChunksToEvents } from "./chunks-to-events";
import { completionToMessage } from "./completion-to-message";
import { EventsToChunks } from "./events-to-chunks";
import { messageToCompletion } from "./message-to-completion";
import { messagesToChatRequest } from "./messages-to-chat-request";

describe("chatToMessagesRequest", () => {
  it("maps reasoning_effort to a thinking budget and raises max_tokens above it", () => {
    const { body } = chatToMessagesRequest(
      {
        model: "x",
        reasoning_effort: "high",
        max_tokens: 1000,
        messages: [{ role: "user", content: "think" }],
      },
      { model: "claude-sonnet-4" },
    );
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 4096 });
    expect(body.max_tokens).toBe(4096 + 4096);
  });

  it("turns a PDF file part into a document block and applies message-level cache_control to the last block", () => {
    const { body } = chatToMessagesRequest(
      {
        model: "x",
        messages: [
          {
            role: "user",
            cache_control: { type: "ephemeral" },
            content: [
              {
                type: "file",
                file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" },
              },
              { type: "text", text: "Summarise" },
            ],
          },
        ],
      },
      { model: "claude", defaultMaxTokens: 1234 },
    );
    expect(body.max_tokens).toBe(1234);
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
          { type: "text", text: "Summarise", cache_control: { type: "ephemeral" } },
        ],
      },
    ]);
  });

  it("refuses audio parts with a 400 naming the part", () => {
    let caught: unknown;
    try {
      chatToMessagesRequest(
        {
          model: "x",
          messages: [
            { role: "user", content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] },
          ],
        },
        { model: "claude" },
      );
    } catch (error) {
      caught = error;
    }
    expect(isLlmuxError(caught) && [caught.kind, caught.param]).toEqual([
      "bad_request",
      "messages[0].content[0]",
    ]);
  });
});

describe("Anthropic answers → OpenAI", () => {
  it("a message with thinking, text and a tool_use block", () => {
    const usage = makeUsage({ inputTokens: 30, cachedInputTokens: 10, outputTokens: 7 });
    const completion = messageToCompletion(
      {
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "claude",
        content: [
          { type: "thinking", thinking: "Let me see.", signature: "sig" },
          { type: "text", text: "Calling a tool." },
          { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: { input_tokens: 20, cache_read_input_tokens: 10, output_tokens: 7 },
      },
      usage,
    );
    expect(completion.choices[0]).toEqual({
      index: 0,
      finish_reason: "tool_calls",
      logprobs: null,
      message: {
        role: "assistant",
        content: "Calling a tool.",
        reasoning_content: "Let me see.",
        thinking_blocks: [{ type: "thinking", thinking: "Let me see.", signature: "sig" }],
        tool_calls: [{ id: "toolu_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
      },
    });
    expect(completion.usage).toMatchObject({
      prompt_tokens: 30,
      prompt_tokens_details: { cached_tokens: 10 },
    });
  });

  it("thinking deltas become reasoning_content chunks; an error event throws the classified error", () => {
    const converter = new EventsToChunks({ provider: "anthropic", deploymentId: "d", model: "m" });
    converter.push({
      type: "message_start",
      message: { id: "msg_2", model: "m", usage: { input_tokens: 5 } },
    });
    converter.push({
      type: "content_block_start",
      index: 0,
      content_block: { type: "thinking", thinking: "" },
    });
    const [chunk] = converter.push({
      type: "content_block_delta",
      index: 0,
      delta: { type: "thinking_delta", thinking: "hmm" },
    });
    expect((chunk!.chunk.choices as Array<{ delta: unknown }>)[0]!.delta).toEqual({
      reasoning_content: "hmm",
    });
    let caught: unknown;
    try {
      converter.push({ type: "error", error: { type: "rate_limit_error", message: "slow down" } });
    } catch (error) {
      caught = error;
    }
    expect(isLlmuxError(caught) && caught.kind).toBe("rate_limit");
  });
});

describe("OpenAI → Anthropic (the /v1/messages translation)", () => {
  it("drops thinking blocks from the history and keeps text, tool_use and images", () => {
    const request = messagesToChatRequest({
      model: "gpt",
      max_tokens: 10,
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "AAAA" } },
            { type: "text", text: "Look" },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "private", signature: "s" },
            { type: "text", text: "Seen." },
          ],
        },
      ],
    });
    expect(request.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "data:image/jpeg;base64,AAAA" } },
          { type: "text", text: "Look" },
        ],
      },
      { role: "assistant", content: "Seen." },
    ]);
  });

  it("a completion with reasoning becomes thinking + text blocks; a chunk stream closes each block in order", () => {
    const message = completionToMessage(
      {
        id: "chatcmpl-1",
        model: "gpt",
        choices: [
          {
            index: 0,
            finish_reason: "length",
            message: { role: "assistant", content: "Hi", reasoning_content: "r" },
          },
        ],
      },
      null,
    );
    expect(message.content).toEqual([
      { type: "thinking", thinking: "r", signature: "" },
      { type: "text", text: "Hi" },
    ]);
    expect(message.stop_reason).toBe("max_tokens");

    const converter = new ChunksToEvents({ id: "msg_x", model: "gpt", estimatedInputTokens: 9 });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      chunk: { id: "c", model: "gpt", choices: [{ index: 0, delta, finish_reason: finish }] },
    });
    const events = [
      ...converter.push(chunk({ role: "assistant", content: "" })),
      ...converter.push(chunk({ content: "Let me check." })),
      ...converter.push(
        chunk({ tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "" } }] }),
      ),
      ...converter.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] })),
      ...converter.push(chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] })),
      ...converter.push(chunk({}, "tool_calls")),
      ...converter.finish().map((item) => item.event),
    ];
    expect(
      events.map((event) => `${event.type}${event.index === undefined ? "" : `:${event.index}`}`),
    ).toEqual([
      "message_start",
      "content_block_start:0",
      "content_block_delta:0",
      "content_block_stop:0",
      "content_block_start:1",
      "content_block_delta:1",
      "content_block_delta:1",
      "content_block_stop:1",
      "message_delta",
      "message_stop",
    ]);
    expect(events.at(-2)).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 9, output_tokens: 0 },
    });
  });
});
