import type { Usage } from "@llmux/pricing";
import type { ChatCompletion } from "../providers/types";
import { finishReasonFromStopReason } from "./stop-reason";
import type { AnthropicContentBlock, AnthropicMessage } from "./types";
import { openAiUsageFrom } from "./usage-format";

/**
 * Anthropic Message → OpenAI chat completion: text blocks become `content`, tool_use blocks
 * `tool_calls`, thinking blocks `reasoning_content` (+ `thinking_blocks`, as LiteLLM returns them),
 * stop_reason the finish_reason. With a JSON tool (response_format), its input is the content.
 */
export function messageToCompletion(
  message: AnthropicMessage,
  usage: Usage | null,
  options: { jsonTool?: string } = {},
): ChatCompletion {
  let text = "";
  let reasoning = "";
  const thinkingBlocks: AnthropicContentBlock[] = [];
  const toolCalls: Array<Record<string, unknown>> = [];
  let jsonAnswer: string | undefined;
  for (const block of message.content ?? []) {
    if (block.type === "text" && typeof block.text === "string") text += block.text;
    else if (block.type === "thinking" || block.type === "redacted_thinking") {
      if (typeof block.thinking === "string") reasoning += block.thinking;
      thinkingBlocks.push(block);
    } else if (block.type === "tool_use") {
      if (options.jsonTool && block.name === options.jsonTool) {
        jsonAnswer = JSON.stringify(block.input ?? {});
        continue;
      }
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const assistant: Record<string, unknown> = { role: "assistant" };
  if (jsonAnswer !== undefined) assistant.content = jsonAnswer;
  else assistant.content = text.length > 0 || toolCalls.length === 0 ? text : null;
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  if (reasoning) assistant.reasoning_content = reasoning;
  if (thinkingBlocks.length > 0) assistant.thinking_blocks = thinkingBlocks;
  let finishReason = finishReasonFromStopReason(message.stop_reason) ?? "stop";
  if (jsonAnswer !== undefined && finishReason === "tool_calls" && toolCalls.length === 0)
    finishReason = "stop";
  const completion: ChatCompletion = {
    id: message.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [{ index: 0, message: assistant, finish_reason: finishReason, logprobs: null }],
  };
  if (usage) completion.usage = openAiUsageFrom(usage);
  return completion;
}
