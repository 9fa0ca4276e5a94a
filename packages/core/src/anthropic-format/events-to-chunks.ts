import { usageFromAnthropic } from "@llmux/pricing";
import { classifyStreamError } from "../errors/classify";
import type { StreamItem } from "../providers/types";
import { finishReasonFromStopReason } from "./stop-reason";
import type { AnthropicStreamEvent, AnthropicUsage } from "./types";
import { mergeAnthropicUsage, openAiUsageFrom } from "./usage-format";

/**
 * Anthropic stream events → OpenAI chat.completion.chunk items, one event at a time:
 * message_start → role chunk; text_delta → content; tool_use start + input_json_delta → tool_calls
 * (name first, then argument fragments); thinking_delta → reasoning_content; message_delta →
 * finish_reason; message_stop → the usage-only chunk (usageOnly) with cache reads and writes.
 * An `error` event throws the classified error.
 */
export class EventsToChunks {
  private id = "";
  private model: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: AnthropicUsage | undefined;
  private readonly toolIndexByBlock = new Map<number, number>();
  private readonly jsonBlocks = new Set<number>();
  private toolCount = 0;
  /** True once message_stop arrived. */
  done = false;

  constructor(
    private readonly context: { provider: string; deploymentId: string; model: string; jsonTool?: string },
  ) {
    this.model = context.model;
  }

  push(event: AnthropicStreamEvent): StreamItem[] {
    switch (event.type) {
      case "message_start": {
        const message = (event.message ?? {}) as Record<string, unknown>;
        if (typeof message.id === "string") this.id = message.id;
        if (typeof message.model === "string") this.model = message.model;
        this.usage = mergeAnthropicUsage(this.usage, message.usage);
        return [this.chunk({ role: "assistant", content: "" })];
      }
      case "content_block_start": {
        const index = Number(event.index ?? 0);
        const block = (event.content_block ?? {}) as Record<string, unknown>;
        if (block.type === "text" && typeof block.text === "string" && block.text.length > 0) {
          return [this.chunk({ content: block.text })];
        }
        if (block.type === "tool_use") {
          if (this.context.jsonTool && block.name === this.context.jsonTool) {
            this.jsonBlocks.add(index);
            return [];
          }
          const toolIndex = this.toolCount++;
          this.toolIndexByBlock.set(index, toolIndex);
          return [
            this.chunk({
              tool_calls: [
                {
                  index: toolIndex,
                  id: block.id,
                  type: "function",
                  function: { name: block.name, arguments: "" },
                },
              ],
            }),
          ];
        }
        if (block.type === "thinking" && typeof block.thinking === "string" && block.thinking.length > 0) {
          return [this.chunk({ reasoning_content: block.thinking })];
        }
        return [];
      }
      case "content_block_delta": {
        const index = Number(event.index ?? 0);
        const delta = (event.delta ?? {}) as Record<string, unknown>;
        if (delta.type === "text_delta" && typeof delta.text === "string") {
          return [this.chunk({ content: delta.text })];
        }
        if (delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
          if (this.jsonBlocks.has(index)) return [this.chunk({ content: delta.partial_json })];
          const toolIndex = this.toolIndexByBlock.get(index);
          if (toolIndex === undefined || delta.partial_json.length === 0) return [];
          return [
            this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] }),
          ];
        }
        if (delta.type === "thinking_delta" && typeof delta.thinking === "string") {
          return [this.chunk({ reasoning_content: delta.thinking })];
        }
        return [];
      }
      case "message_delta": {
        const delta = (event.delta ?? {}) as Record<string, unknown>;
        this.usage = mergeAnthropicUsage(this.usage, event.usage);
        let finishReason = finishReasonFromStopReason(delta.stop_reason);
        if (finishReason === "tool_calls" && this.toolCount === 0 && this.jsonBlocks.size > 0)
          finishReason = "stop";
        return finishReason ? [this.chunk({}, finishReason)] : [];
      }
      case "message_stop": {
        this.done = true;
        const usage = usageFromAnthropic(this.usage ?? {});
        return [
          {
            chunk: {
              id: this.id,
              object: "chat.completion.chunk",
              created: this.created,
              model: this.model,
              choices: [],
              usage: openAiUsageFrom(usage),
            },
            usage,
            usageOnly: true,
          },
        ];
      }
      case "error": {
        const error = (event.error ?? {}) as { type?: string; message?: string };
        throw classifyStreamError({
          type: error.type,
          message: error.message,
          provider: this.context.provider,
          deploymentId: this.context.deploymentId,
        });
      }
      default:
        // ping and event types added later
        return [];
    }
  }

  private chunk(delta: Record<string, unknown>, finishReason: string | null = null): StreamItem {
    return {
      chunk: {
        id: this.id,
        object: "chat.completion.chunk",
        created: this.created,
        model: this.model,
        choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      },
    };
  }
}
