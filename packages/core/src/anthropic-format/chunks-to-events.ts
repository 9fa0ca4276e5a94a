import type { Usage } from "@llmux/pricing";
import type { StreamItem } from "../providers/types";
import { stopReasonFromFinishReason } from "./stop-reason";
import type { AnthropicStreamEvent, MessagesStreamItem } from "./types";
import { anthropicUsageFrom } from "./usage-format";

type OpenBlock = { index: number; kind: "text" | "thinking" | "tool_use"; toolIndex?: number };

/**
 * OpenAI chunks → Anthropic stream events, for /v1/messages streams served by a non-Anthropic
 * deployment: message_start, then one content block at a time (thinking, text, tool_use with
 * input_json_delta fragments), and at the end message_delta (stop_reason + the exact usage, which
 * OpenAI streams only report last) and message_stop. message_start carries the estimated input
 * tokens; the SDKs overwrite them with message_delta's.
 */
export class ChunksToEvents {
  private started = false;
  private open: OpenBlock | undefined;
  private nextIndex = 0;
  private readonly toolBlocks = new Map<number, number>();
  private finishReason: unknown;
  private usage: Usage | undefined;

  constructor(private readonly context: { id: string; model: string; estimatedInputTokens: number }) {}

  push(item: StreamItem): AnthropicStreamEvent[] {
    const events: AnthropicStreamEvent[] = [];
    const content = item.deltaContent;
    if (content !== undefined && this.started) {
      // a delta of one content string and nothing else (no usage, no finish reason): not parsed
      if (content.length > 0) {
        this.ensure("text", events);
        events.push(this.delta({ type: "text_delta", text: content }));
      }
      return events;
    }
    if (!this.started) events.push(this.start(item.chunk));
    if (item.usage) this.usage = item.usage;
    const choice = (item.chunk.choices as Array<Record<string, unknown>> | undefined)?.[0];
    if (!choice) return events;
    const delta = (choice.delta ?? {}) as Record<string, unknown>;
    if (typeof delta.reasoning_content === "string" && delta.reasoning_content.length > 0) {
      this.ensure("thinking", events);
      events.push(this.delta({ type: "thinking_delta", thinking: delta.reasoning_content }));
    }
    if (typeof delta.content === "string" && delta.content.length > 0) {
      this.ensure("text", events);
      events.push(this.delta({ type: "text_delta", text: delta.content }));
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as Array<Record<string, unknown>>) {
        const toolIndex = typeof call.index === "number" ? call.index : this.toolBlocks.size;
        const fn = (call.function ?? {}) as Record<string, unknown>;
        if (!this.toolBlocks.has(toolIndex)) {
          this.close(events);
          const index = this.nextIndex++;
          this.toolBlocks.set(toolIndex, index);
          this.open = { index, kind: "tool_use", toolIndex };
          events.push({
            type: "content_block_start",
            index,
            content_block: {
              type: "tool_use",
              id: typeof call.id === "string" ? call.id : `toolu_${this.context.id}_${toolIndex}`,
              name: typeof fn.name === "string" ? fn.name : "",
              input: {},
            },
          });
        }
        const args = fn.arguments;
        if (typeof args === "string" && args.length > 0 && this.open?.toolIndex === toolIndex) {
          events.push(this.delta({ type: "input_json_delta", partial_json: args }));
        }
      }
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return events;
  }

  /** The closing events; the message_delta item carries the call's usage. */
  finish(): MessagesStreamItem[] {
    const events: AnthropicStreamEvent[] = [];
    if (!this.started) events.push(this.start({}));
    this.close(events);
    const items: MessagesStreamItem[] = events.map((event) => ({ event }));
    const usage = this.usage
      ? anthropicUsageFrom(this.usage)
      : { input_tokens: this.context.estimatedInputTokens, output_tokens: 0 };
    const messageDelta: MessagesStreamItem = {
      event: {
        type: "message_delta",
        delta: { stop_reason: stopReasonFromFinishReason(this.finishReason), stop_sequence: null },
        usage,
      },
    };
    if (this.usage) messageDelta.usage = this.usage;
    items.push(messageDelta, { event: { type: "message_stop" } });
    return items;
  }

  private start(chunk: Record<string, unknown>): AnthropicStreamEvent {
    this.started = true;
    return {
      type: "message_start",
      message: {
        id: this.context.id,
        type: "message",
        role: "assistant",
        model: typeof chunk.model === "string" && chunk.model ? chunk.model : this.context.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: this.context.estimatedInputTokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 0,
        },
      },
    };
  }

  private ensure(kind: "text" | "thinking", events: AnthropicStreamEvent[]): void {
    if (this.open?.kind === kind) return;
    this.close(events);
    const index = this.nextIndex++;
    this.open = { index, kind };
    events.push({
      type: "content_block_start",
      index,
      content_block:
        kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" },
    });
  }

  private close(events: AnthropicStreamEvent[]): void {
    if (!this.open) return;
    events.push({ type: "content_block_stop", index: this.open.index });
    this.open = undefined;
  }

  private delta(delta: Record<string, unknown>): AnthropicStreamEvent {
    return { type: "content_block_delta", index: this.open!.index, delta };
  }
}
