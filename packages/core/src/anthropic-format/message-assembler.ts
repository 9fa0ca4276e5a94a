import type { AnthropicContentBlock, AnthropicStreamEvent } from "./types";

/**
 * Rebuilds an Anthropic message from its stream events for the call event: id, model, stop
 * reason, and (unless only metadata is wanted) text, thinking and tool_use blocks.
 */
export class MessageAssembler {
  id: string | undefined;
  model: string | undefined;
  stopReason: string | undefined;
  private readonly blocks: Array<AnthropicContentBlock & { partialJson?: string }> = [];

  constructor(private readonly metadataOnly: boolean) {}

  add(event: AnthropicStreamEvent): void {
    switch (event.type) {
      case "message_start": {
        const message = (event.message ?? {}) as Record<string, unknown>;
        if (typeof message.id === "string") this.id = message.id;
        if (typeof message.model === "string") this.model = message.model;
        return;
      }
      case "message_delta": {
        const stopReason = (event.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
        if (typeof stopReason === "string") this.stopReason = stopReason;
        return;
      }
      case "content_block_start":
        if (!this.metadataOnly) {
          this.blocks[Number(event.index ?? this.blocks.length)] = {
            ...(event.content_block as AnthropicContentBlock),
          };
        }
        return;
      case "content_block_delta": {
        if (this.metadataOnly) return;
        const block = this.blocks[Number(event.index ?? 0)];
        const delta = (event.delta ?? {}) as Record<string, unknown>;
        if (!block) return;
        if (delta.type === "text_delta")
          block.text = `${String(block.text ?? "")}${String(delta.text ?? "")}`;
        else if (delta.type === "thinking_delta")
          block.thinking = `${String(block.thinking ?? "")}${String(delta.thinking ?? "")}`;
        else if (delta.type === "input_json_delta")
          block.partialJson = `${block.partialJson ?? ""}${String(delta.partial_json ?? "")}`;
        return;
      }
      default:
        return;
    }
  }

  /** The assistant message in Anthropic form (content blocks), as events carry it. */
  content(): Array<Record<string, unknown>> {
    const content = this.blocks.filter(Boolean).map(({ partialJson, ...block }) => {
      if (partialJson === undefined) return block;
      try {
        return { ...block, input: JSON.parse(partialJson) as unknown };
      } catch {
        return { ...block, input: partialJson };
      }
    });
    return [{ role: "assistant", content }];
  }
}
