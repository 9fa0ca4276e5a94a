/**
 * Bedrock InvokeModel / InvokeModelWithResponseStream for anthropic.* models: the Anthropic Messages
 * answer of the mock, with a thinking block first when the request enables extended thinking
 * (`thinking: {type: "enabled" | "adaptive"}`). The stream is an AWS event stream of `chunk` events,
 * each `{"bytes": base64(one Anthropic stream event)}`, the last (message_stop) carrying
 * `amazon-bedrock-invocationMetrics`, as Bedrock sends them.
 */
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { type AnthropicAnswer, anthropicMessage } from "./anthropic-shape.js";

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** A thinking text and signature derived from the answer (deterministic). */
function thinkingOf(answer: AnthropicAnswer): { text: string; signature: string } {
  return {
    text: `The user asked something; I will answer in ${answer.reply.words} words.`,
    signature: Buffer.from(`mock-signature:${answer.id}`).toString("base64"),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape.
export function wantsThinking(body: any): boolean {
  const type = body?.thinking?.type;
  return type === "enabled" || type === "adaptive";
}

/** The non-streaming Message, with the thinking block first when asked. */
export function invokeMessage(answer: AnthropicAnswer, thinking: boolean): Record<string, unknown> {
  const message = anthropicMessage(answer) as Record<string, unknown> & { content: unknown[] };
  if (!thinking) return message;
  const { text, signature } = thinkingOf(answer);
  return { ...message, content: [{ type: "thinking", thinking: text, signature }, ...message.content] };
}

/** The Anthropic stream events of the answer, in order. */
export function anthropicStreamEvents(answer: AnthropicAnswer, thinking: boolean): Record<string, unknown>[] {
  const usage = answer.usage;
  const events: Record<string, unknown>[] = [
    {
      type: "message_start",
      message: {
        id: answer.id,
        type: "message",
        role: "assistant",
        model: answer.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.promptTokens,
          cache_creation_input_tokens: usage.cacheCreationInputTokens,
          cache_read_input_tokens: usage.cacheReadInputTokens,
          output_tokens: 1,
        },
      },
    },
  ];
  let index = 0;
  if (thinking) {
    const { text, signature } = thinkingOf(answer);
    events.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "" } });
    for (const piece of text.match(/.{1,16}/g) ?? []) {
      events.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: piece } });
    }
    events.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature } });
    events.push({ type: "content_block_stop", index });
    index++;
  }
  const toolCall = answer.fault?.toolCall;
  if (toolCall) {
    events.push({
      type: "content_block_start",
      index,
      content_block: { type: "tool_use", id: answer.toolUseId, name: toolCall.name, input: {} },
    });
    for (let offset = 0; offset < toolCall.arguments.length; offset += 8) {
      events.push({
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json: toolCall.arguments.slice(offset, offset + 8) },
      });
    }
  } else {
    events.push({ type: "content_block_start", index, content_block: { type: "text", text: "" } });
    for (const piece of answer.reply.pieces) {
      events.push({ type: "content_block_delta", index, delta: { type: "text_delta", text: piece } });
    }
  }
  events.push({ type: "content_block_stop", index });
  events.push({
    type: "message_delta",
    delta: { stop_reason: answer.stopReason, stop_sequence: null },
    usage: { output_tokens: usage.completionTokens },
  });
  events.push({
    type: "message_stop",
    "amazon-bedrock-invocationMetrics": {
      inputTokenCount: usage.promptTokens,
      outputTokenCount: usage.completionTokens,
      invocationLatency: 1,
      firstByteLatency: 1,
      cacheReadInputTokenCount: usage.cacheReadInputTokens,
      cacheWriteInputTokenCount: usage.cacheCreationInputTokens,
    },
  });
  return events;
}

/** One `chunk` frame of InvokeModelWithResponseStream. */
export function chunkFrame(event: Record<string, unknown>): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(event)).toString("base64");
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: "chunk" },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: fromUtf8(JSON.stringify({ bytes })),
  });
}
