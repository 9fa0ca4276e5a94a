import type { Usage } from "@llmux/pricing";
import type { ChatCompletion } from "../providers/types";
import { parseArguments } from "./chat-to-messages-request";
import { stopReasonFromFinishReason } from "./stop-reason";
import type { AnthropicContentBlock, AnthropicMessage } from "./types";
import { anthropicUsageFrom } from "./usage-format";

/**
 * OpenAI chat completion → Anthropic Message: reasoning_content becomes a thinking block, content
 * a text block, tool_calls tool_use blocks (arguments parsed to objects), finish_reason the
 * stop_reason, normalised usage Anthropic's usage (input_tokens without cache reads and writes).
 */
export function completionToMessage(completion: ChatCompletion, usage: Usage | null): AnthropicMessage {
  const choice = (completion.choices[0] ?? {}) as Record<string, unknown>;
  const message = (choice.message ?? {}) as Record<string, unknown>;
  const content: AnthropicContentBlock[] = [];
  if (typeof message.reasoning_content === "string" && message.reasoning_content.length > 0) {
    content.push({ type: "thinking", thinking: message.reasoning_content, signature: "" });
  }
  const text = textOf(message.content);
  if (text.length > 0) content.push({ type: "text", text });
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as Array<Record<string, unknown>>) {
      const fn = (call.function ?? {}) as Record<string, unknown>;
      content.push({
        type: "tool_use",
        id: typeof call.id === "string" ? call.id : `toolu_${content.length}`,
        name: String(fn.name ?? ""),
        input: parseArguments(fn.arguments),
      });
    }
  }
  return {
    id: completion.id,
    type: "message",
    role: "assistant",
    model: completion.model,
    content,
    stop_reason: stopReasonFromFinishReason(choice.finish_reason),
    stop_sequence: null,
    usage: usage
      ? anthropicUsageFrom(usage)
      : { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
  };
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === "object" && typeof part.text === "string" ? part.text : ""))
      .join("");
  }
  return "";
}
