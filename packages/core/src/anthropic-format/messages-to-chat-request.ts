import { LlmuxError } from "../errors/llmux-error";
import type { ChatRequest } from "../providers/types";
import type { AnthropicContentBlock, AnthropicRequest } from "./types";

type Part = Record<string, unknown>;

/**
 * Anthropic Messages request → OpenAI chat request, for /v1/messages calls routed to a deployment
 * that does not speak Messages: `system` becomes a system message, tool_result blocks become
 * `tool` messages (placed right after the assistant turn that called them), tool_use blocks
 * `tool_calls`, images and PDFs image_url / file parts; cache_control passes through on parts.
 * Mid-conversation `role: "system"` messages (Claude Code 2.1) stay where they are, as system
 * messages. `thinking` (enabled or adaptive) and `output_config.effort` become `reasoning_effort`,
 * which the OpenAI, Azure, Ollama (`think`) and Bedrock (thinking budget) providers understand.
 * Anthropic-only fields (top_k, context_management, container, mcp_servers, server tools) have no
 * OpenAI equivalent and are dropped (server tools are refused).
 */
export function messagesToChatRequest(body: AnthropicRequest): ChatRequest {
  const messages: Array<Record<string, unknown>> = [];
  const system = body.system;
  if (typeof system === "string" && system.length > 0) messages.push({ role: "system", content: system });
  else if (Array.isArray(system) && system.length > 0) {
    messages.push({
      role: "system",
      content: system.map((block, index) => textPart(block, `system[${index}]`)),
    });
  }
  for (const [index, message] of body.messages.entries()) {
    if (message.role === "assistant") messages.push(assistantMessage(message.content, index));
    else if (message.role === "user") messages.push(...userMessages(message.content, index));
    else if (message.role === "system") messages.push(systemMessage(message.content, index));
    else throw badRequest(`messages.${index}.role: expected 'user', 'assistant' or 'system'`);
  }

  const request: ChatRequest = { model: body.model, messages };
  if (typeof body.max_tokens === "number") request.max_tokens = body.max_tokens;
  if (typeof body.temperature === "number") request.temperature = body.temperature;
  if (typeof body.top_p === "number") request.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0)
    request.stop = body.stop_sequences;
  const userId = (body.metadata as { user_id?: unknown } | undefined)?.user_id;
  if (typeof userId === "string") request.user = userId;
  if (body.stream === true) request.stream = true;
  const effort = reasoningEffort(body);
  if (effort) request.reasoning_effort = effort;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    request.tools = (body.tools as Part[]).map((tool, index) => {
      if (tool.type !== undefined && tool.type !== "custom") {
        throw badRequest(
          `tools.${index}: '${String(tool.type)}' is an Anthropic server tool, available only on Anthropic deployments`,
        );
      }
      const definition: Part = { name: tool.name, parameters: tool.input_schema ?? { type: "object" } };
      if (typeof tool.description === "string") definition.description = tool.description;
      const converted: Part = { type: "function", function: definition };
      if (tool.cache_control) converted.cache_control = tool.cache_control;
      return converted;
    });
  }
  const choice = body.tool_choice as Part | undefined;
  if (choice && typeof choice === "object") {
    if (choice.type === "auto") request.tool_choice = "auto";
    else if (choice.type === "any") request.tool_choice = "required";
    else if (choice.type === "none") request.tool_choice = "none";
    else if (choice.type === "tool" && typeof choice.name === "string") {
      request.tool_choice = { type: "function", function: { name: choice.name } };
    }
    if (choice.disable_parallel_tool_use === true && request.tools) request.parallel_tool_calls = false;
  }
  return request;
}

/**
 * OpenAI's reasoning_effort for Anthropic's thinking settings: `output_config.effort` when given
 * (max and xhigh become high), else from `thinking.budget_tokens`; adaptive thinking with no effort
 * leaves the provider's default. No thinking (or disabled): nothing.
 */
export function reasoningEffort(body: Record<string, unknown>): string | undefined {
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  const effort = (body.output_config as { effort?: unknown } | undefined)?.effort;
  if (thinking?.type === "disabled") return undefined;
  if (typeof effort === "string") {
    if (effort === "low" || effort === "medium" || effort === "high") return effort;
    if (effort === "max" || effort === "xhigh") return "high";
    return undefined;
  }
  if (thinking?.type === "enabled" && typeof thinking.budget_tokens === "number") {
    return thinking.budget_tokens < 2048 ? "low" : thinking.budget_tokens < 4096 ? "medium" : "high";
  }
  return undefined;
}

function systemMessage(content: string | AnthropicContentBlock[], index: number): Record<string, unknown> {
  if (typeof content === "string") return { role: "system", content };
  if (!Array.isArray(content)) throw badRequest(`messages.${index}.content: expected a string or an array`);
  return {
    role: "system",
    content: content.map((block, blockIndex) => textPart(block, `messages.${index}.content.${blockIndex}`)),
  };
}

function textPart(block: AnthropicContentBlock | string, where: string): Part {
  if (typeof block === "string") return { type: "text", text: block };
  if (block.type !== "text" || typeof block.text !== "string")
    throw badRequest(`${where}: expected a text block`);
  const part: Part = { type: "text", text: block.text };
  if (block.cache_control) part.cache_control = block.cache_control;
  return part;
}

function userMessages(
  content: string | AnthropicContentBlock[],
  index: number,
): Array<Record<string, unknown>> {
  if (typeof content === "string") return [{ role: "user", content }];
  if (!Array.isArray(content)) throw badRequest(`messages.${index}.content: expected a string or an array`);
  const toolMessages: Array<Record<string, unknown>> = [];
  const parts: Part[] = [];
  for (const [blockIndex, block] of content.entries()) {
    const where = `messages.${index}.content.${blockIndex}`;
    switch (block?.type) {
      case "text":
        parts.push(textPart(block, where));
        break;
      case "image":
      case "document":
        parts.push(mediaPart(block, where));
        break;
      case "tool_result": {
        const result: Record<string, unknown> = {
          role: "tool",
          tool_call_id: block.tool_use_id,
          content: toolResultContent(block.content, where),
        };
        if (block.cache_control) result.cache_control = block.cache_control;
        toolMessages.push(result);
        break;
      }
      default:
        throw badRequest(`${where}: content type '${String(block?.type)}' cannot be sent to this deployment`);
    }
  }
  const messages = [...toolMessages];
  if (parts.length > 0) messages.push({ role: "user", content: parts });
  return messages;
}

function toolResultContent(content: unknown, where: string): string | Part[] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content))
    return content === undefined || content === null ? "" : JSON.stringify(content);
  const blocks = content as AnthropicContentBlock[];
  if (blocks.every((block) => block.type === "text"))
    return blocks.map((block) => String(block.text)).join("\n");
  return blocks.map((block, index) =>
    block.type === "text"
      ? textPart(block, `${where}.content.${index}`)
      : mediaPart(block, `${where}.content.${index}`),
  );
}

function mediaPart(block: AnthropicContentBlock, where: string): Part {
  const source = (block.source ?? {}) as Part;
  let part: Part;
  if (source.type === "base64" && typeof source.data === "string" && typeof source.media_type === "string") {
    const url = `data:${source.media_type};base64,${source.data}`;
    part =
      block.type === "image"
        ? { type: "image_url", image_url: { url } }
        : {
            type: "file",
            file: {
              file_data: url,
              filename: typeof block.title === "string" ? block.title : "document.pdf",
            },
          };
  } else if (source.type === "url" && typeof source.url === "string") {
    if (block.type !== "image") throw badRequest(`${where}: URL documents cannot be sent to this deployment`);
    part = { type: "image_url", image_url: { url: source.url } };
  } else if (source.type === "text" && typeof source.data === "string") {
    part = { type: "text", text: source.data };
  } else {
    throw badRequest(
      `${where}: ${block.type} source type '${String(source.type)}' cannot be sent to this deployment`,
    );
  }
  if (block.cache_control) part.cache_control = block.cache_control;
  return part;
}

function assistantMessage(content: string | AnthropicContentBlock[], index: number): Record<string, unknown> {
  if (typeof content === "string") return { role: "assistant", content };
  if (!Array.isArray(content)) throw badRequest(`messages.${index}.content: expected a string or an array`);
  let text = "";
  const toolCalls: Part[] = [];
  for (const block of content) {
    if (block.type === "text" && typeof block.text === "string") text += block.text;
    else if (block.type === "tool_use") {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // thinking / redacted_thinking blocks belong to Anthropic models and are not sent elsewhere.
  }
  const message: Record<string, unknown> = {
    role: "assistant",
    content: text.length > 0 || toolCalls.length === 0 ? text : null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return message;
}

function badRequest(message: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, code: "invalid_request_error" });
}
