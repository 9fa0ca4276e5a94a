import { LlmuxError } from "../errors/llmux-error";
import type { ChatRequest } from "../providers/types";
import type { AnthropicContentBlock, AnthropicMessageParam, AnthropicRequest } from "./types";

/** Anthropic needs max_tokens; this is used when neither the request nor the deployment sets one. */
export const DEFAULT_MAX_TOKENS = 4096;

/** The tool that carries a `response_format` JSON answer (Anthropic has no JSON mode of its own). */
export const JSON_TOOL_NAME = "json_tool_call";

/** Thinking budgets for OpenAI's reasoning_effort (the values LiteLLM uses). */
const THINKING_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };

export interface ChatToMessagesOptions {
  /** The model sent upstream. */
  model: string;
  /** max_tokens when the request has none (deployment `max_tokens`, else 4096). */
  defaultMaxTokens?: number;
}

export interface ConvertedMessagesRequest {
  body: AnthropicRequest;
  /** Set when response_format was mapped to a forced tool: its tool_use input is the JSON answer. */
  jsonTool?: string;
}

type Part = Record<string, unknown>;

/**
 * OpenAI chat completions request → Anthropic Messages request: system and developer messages
 * become `system`, tool results become `tool_result` blocks in user turns, assistant tool calls
 * become `tool_use` blocks, images (data: and http(s) URLs) and PDFs become image/document
 * blocks, and `cache_control` on messages, parts and tools passes through.
 */
export function chatToMessagesRequest(
  request: ChatRequest,
  options: ChatToMessagesOptions,
): ConvertedMessagesRequest {
  if (typeof request.n === "number" && request.n > 1) {
    throw badRequest("Anthropic models return one choice: 'n' greater than 1 is not supported", "n");
  }
  const system: AnthropicContentBlock[] = [];
  const messages: AnthropicMessageParam[] = [];
  for (const [index, message] of request.messages.entries()) {
    const role = message.role;
    if (role === "system" || role === "developer") {
      system.push(...withCacheControl(textBlocks(message.content, index), message.cache_control));
      continue;
    }
    if (role === "user") {
      pushTurn(messages, "user", withCacheControl(userBlocks(message.content, index), message.cache_control));
      continue;
    }
    if (role === "assistant") {
      const blocks = assistantBlocks(message, index);
      if (blocks.length > 0) pushTurn(messages, "assistant", withCacheControl(blocks, message.cache_control));
      continue;
    }
    if (role === "tool" || role === "function") {
      const toolUseId = role === "tool" ? message.tool_call_id : message.name;
      if (typeof toolUseId !== "string") {
        throw badRequest(`messages[${index}]: a tool message needs 'tool_call_id'`, `messages[${index}]`);
      }
      const result: AnthropicContentBlock = {
        type: "tool_result",
        tool_use_id: toolUseId,
        content: toolResultContent(message.content, index),
      };
      if (message.is_error === true) result.is_error = true;
      pushTurn(messages, "user", withCacheControl([result], message.cache_control));
      continue;
    }
    throw badRequest(`messages[${index}]: unsupported role '${String(role)}'`, `messages[${index}].role`);
  }

  const body: AnthropicRequest = {
    model: options.model,
    messages,
    max_tokens: maxTokens(request, options),
  };
  if (system.length > 0) {
    body.system = system.every((block) => !block.cache_control)
      ? system.map((block) => block.text as string).join("\n\n")
      : system;
  }
  if (typeof request.temperature === "number") body.temperature = request.temperature;
  if (typeof request.top_p === "number") body.top_p = request.top_p;
  if (typeof request.top_k === "number") body.top_k = request.top_k;
  const stop = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (Array.isArray(stop) && stop.length > 0) body.stop_sequences = stop;
  if (typeof request.user === "string") body.metadata = { user_id: request.user };
  if (request.stream === true) body.stream = true;

  const tools = Array.isArray(request.tools) ? request.tools.map(toolDefinition) : [];
  let toolChoice = toolChoiceOf(request.tool_choice);
  let jsonTool: string | undefined;
  const format = request.response_format as Part | undefined;
  if (format && (format.type === "json_schema" || format.type === "json_object")) {
    const schema =
      format.type === "json_schema"
        ? ((format.json_schema as Part | undefined)?.schema as Part | undefined)
        : undefined;
    jsonTool = JSON_TOOL_NAME;
    tools.push({
      name: JSON_TOOL_NAME,
      description: "Respond with a JSON object.",
      input_schema: schema ?? { type: "object", additionalProperties: true },
    });
    toolChoice = { type: "tool", name: JSON_TOOL_NAME };
  }
  if (tools.length > 0) body.tools = tools;
  if (request.parallel_tool_calls === false && toolChoice?.type !== "none") {
    toolChoice = { ...(toolChoice ?? { type: "auto" }), disable_parallel_tool_use: true };
  }
  if (toolChoice && (tools.length > 0 || toolChoice.type === "none")) body.tool_choice = toolChoice;

  const thinking = thinkingOf(request);
  if (thinking) {
    body.thinking = thinking;
    const budget = thinking.budget_tokens;
    if (typeof budget === "number" && (body.max_tokens ?? 0) <= budget) {
      body.max_tokens = budget + (options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS);
    }
  }
  return jsonTool ? { body, jsonTool } : { body };
}

function maxTokens(request: ChatRequest, options: ChatToMessagesOptions): number {
  const value = request.max_completion_tokens ?? request.max_tokens;
  if (typeof value === "number" && value > 0) return Math.floor(value);
  return options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
}

function thinkingOf(request: ChatRequest): Part | undefined {
  if (request.thinking && typeof request.thinking === "object") return request.thinking as Part;
  const effort = request.reasoning_effort;
  if (typeof effort !== "string" || effort === "none") return undefined;
  const budget = THINKING_BUDGETS[effort];
  return budget ? { type: "enabled", budget_tokens: budget } : undefined;
}

/** Appends blocks as a turn, merging into the previous turn when the role repeats (Anthropic alternates roles). */
function pushTurn(
  messages: AnthropicMessageParam[],
  role: "user" | "assistant",
  blocks: AnthropicContentBlock[],
) {
  const previous = messages.at(-1);
  if (previous && previous.role === role) {
    const existing =
      typeof previous.content === "string" ? [{ type: "text", text: previous.content }] : previous.content;
    previous.content = [...existing, ...blocks];
    return;
  }
  messages.push({ role, content: blocks });
}

function withCacheControl(blocks: AnthropicContentBlock[], cacheControl: unknown): AnthropicContentBlock[] {
  if (!cacheControl || blocks.length === 0) return blocks;
  const copy = [...blocks];
  copy[copy.length - 1] = { ...copy[copy.length - 1]!, cache_control: cacheControl };
  return copy;
}

function textBlocks(content: unknown, index: number): AnthropicContentBlock[] {
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : [];
  if (!Array.isArray(content)) return [];
  return content.map((part: Part, partIndex) => {
    if (part?.type !== "text" || typeof part.text !== "string") {
      throw badRequest(
        `messages[${index}].content[${partIndex}]: only text parts are allowed here`,
        `messages[${index}].content[${partIndex}]`,
      );
    }
    return textBlock(part);
  });
}

function textBlock(part: Part): AnthropicContentBlock {
  const block: AnthropicContentBlock = { type: "text", text: part.text as string };
  if (part.cache_control) block.cache_control = part.cache_control;
  return block;
}

function userBlocks(content: unknown, index: number): AnthropicContentBlock[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) {
    throw badRequest(`messages[${index}].content must be a string or an array`, `messages[${index}].content`);
  }
  const blocks: AnthropicContentBlock[] = [];
  for (const [partIndex, part] of (content as Part[]).entries()) {
    const where = `messages[${index}].content[${partIndex}]`;
    switch (part?.type) {
      case "text":
        if (typeof part.text === "string" && part.text.length > 0) blocks.push(textBlock(part));
        break;
      case "image_url": {
        const imageUrl = part.image_url as Part | string | undefined;
        const url = typeof imageUrl === "string" ? imageUrl : imageUrl?.url;
        if (typeof url !== "string") throw badRequest(`${where}: image_url.url is required`, where);
        blocks.push(withPartCache(mediaBlock(url, where), part));
        break;
      }
      case "file": {
        const file = part.file as Part | undefined;
        if (typeof file?.file_data !== "string") {
          throw badRequest(
            `${where}: only inline files (file.file_data as a data: URL) are supported`,
            where,
          );
        }
        blocks.push(withPartCache(mediaBlock(file.file_data, where), part));
        break;
      }
      case "image":
      case "document":
      case "tool_result":
        // Already Anthropic-shaped (LiteLLM lets callers send these).
        blocks.push(part as AnthropicContentBlock);
        break;
      default:
        throw badRequest(
          `${where}: content type '${String(part?.type)}' is not supported by Anthropic`,
          where,
        );
    }
  }
  return blocks;
}

function withPartCache(block: AnthropicContentBlock, part: Part): AnthropicContentBlock {
  return part.cache_control ? { ...block, cache_control: part.cache_control } : block;
}

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

/** data: URL → base64 image or PDF document block; http(s) URL → url image (or document for .pdf). */
export function mediaBlock(url: string, where: string): AnthropicContentBlock {
  const match = DATA_URL.exec(url);
  if (match) {
    const mediaType = match[1]!.toLowerCase();
    const data = match[2]!;
    if (mediaType === "application/pdf") {
      return { type: "document", source: { type: "base64", media_type: mediaType, data } };
    }
    if (mediaType === "text/plain") {
      return {
        type: "document",
        source: { type: "text", media_type: mediaType, data: Buffer.from(data, "base64").toString("utf8") },
      };
    }
    if (!mediaType.startsWith("image/")) {
      throw badRequest(`${where}: media type '${mediaType}' is not supported by Anthropic`, where);
    }
    return { type: "image", source: { type: "base64", media_type: mediaType, data } };
  }
  if (/^https?:\/\//i.test(url)) {
    const isPdf = /\.pdf(?:[?#]|$)/i.test(url);
    return { type: isPdf ? "document" : "image", source: { type: "url", url } };
  }
  throw badRequest(`${where}: expected a data: URL or an http(s) URL`, where);
}

function assistantBlocks(message: Record<string, unknown>, index: number): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  if (Array.isArray(message.thinking_blocks)) {
    for (const block of message.thinking_blocks as AnthropicContentBlock[]) blocks.push(block);
  }
  const content = message.content;
  if (typeof content === "string") {
    if (content.length > 0) blocks.push({ type: "text", text: content });
  } else if (Array.isArray(content)) {
    for (const [partIndex, part] of (content as Part[]).entries()) {
      if (part?.type === "text") {
        if (typeof part.text === "string" && part.text.length > 0) blocks.push(textBlock(part));
      } else if (part?.type === "refusal") {
        if (typeof part.refusal === "string" && part.refusal.length > 0)
          blocks.push({ type: "text", text: part.refusal });
      } else if (
        part?.type === "thinking" ||
        part?.type === "redacted_thinking" ||
        part?.type === "tool_use"
      ) {
        blocks.push(part as AnthropicContentBlock);
      } else {
        const where = `messages[${index}].content[${partIndex}]`;
        throw badRequest(`${where}: assistant content type '${String(part?.type)}' is not supported`, where);
      }
    }
  }
  const calls = message.tool_calls;
  if (Array.isArray(calls)) {
    for (const [callIndex, call] of (calls as Part[]).entries()) {
      const fn = call.function as Part | undefined;
      if (typeof fn?.name !== "string") {
        const where = `messages[${index}].tool_calls[${callIndex}]`;
        throw badRequest(`${where}: function.name is required`, where);
      }
      blocks.push({
        type: "tool_use",
        id: typeof call.id === "string" ? call.id : `toolu_llmux_${index}_${callIndex}`,
        name: fn.name,
        input: parseArguments(fn.arguments),
      });
    }
  }
  const legacy = message.function_call as Part | undefined;
  if (legacy && typeof legacy.name === "string") {
    blocks.push({
      type: "tool_use",
      id: legacy.name,
      name: legacy.name,
      input: parseArguments(legacy.arguments),
    });
  }
  return blocks;
}

/** Tool-call arguments (a JSON string) → the object Anthropic wants as tool input. */
export function parseArguments(value: unknown): Record<string, unknown> {
  if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  if (typeof value !== "string" || value.trim() === "") return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : { value: parsed };
  } catch {
    return { arguments: value };
  }
}

function toolResultContent(content: unknown, index: number): string | AnthropicContentBlock[] {
  if (typeof content === "string") return content;
  if (content === null || content === undefined) return "";
  if (Array.isArray(content)) {
    return (content as Part[]).map((part, partIndex) => {
      if (part?.type === "text") return textBlock(part);
      if (part?.type === "image_url") {
        const imageUrl = part.image_url as Part | string;
        const url = typeof imageUrl === "string" ? imageUrl : (imageUrl?.url as string);
        return mediaBlock(url, `messages[${index}].content[${partIndex}]`);
      }
      return part as AnthropicContentBlock;
    });
  }
  return JSON.stringify(content);
}

function toolDefinition(tool: Part, index: number): Part {
  if (tool?.type === "function") {
    const fn = tool.function as Part | undefined;
    if (typeof fn?.name !== "string") throw badRequest(`tools[${index}].function.name is required`, "tools");
    const definition: Part = {
      name: fn.name,
      input_schema: (fn.parameters as Part | undefined) ?? { type: "object", properties: {} },
    };
    if (typeof fn.description === "string") definition.description = fn.description;
    const cacheControl = tool.cache_control ?? fn.cache_control;
    if (cacheControl) definition.cache_control = cacheControl;
    return definition;
  }
  // Anthropic-native tool definitions (server tools, or { name, input_schema }) pass through.
  return tool;
}

function toolChoiceOf(choice: unknown): Part | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto") return { type: "auto" };
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  if (typeof choice === "object") {
    const record = choice as Part;
    const name = (record.function as Part | undefined)?.name ?? record.name;
    if (record.type === "function" && typeof name === "string") return { type: "tool", name };
    if (record.type === "auto" || record.type === "any" || record.type === "tool" || record.type === "none")
      return record;
  }
  throw badRequest("tool_choice must be 'auto', 'required', 'none' or a function", "tool_choice");
}

function badRequest(message: string, param: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, param, code: "unsupported_for_provider" });
}
