import { type Usage, usageFromBedrock } from "@llmux/pricing";
import { JSON_TOOL_NAME, parseArguments } from "../../anthropic-format/chat-to-messages-request";
import { openAiUsageFrom } from "../../anthropic-format/usage-format";
import { LlmuxError } from "../../errors/llmux-error";
import type { ChatCompletion, ChatRequest } from "../types";
import type { BedrockModel } from "./bedrock-model";

/**
 * OpenAI chat ⇄ Bedrock Converse (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html):
 * system prompts, multi-turn text, images and PDFs (base64 or s3://), tools through toolConfig
 * (toolUse / toolResult blocks), cache_control as cachePoint blocks, inferenceConfig, and
 * model-specific fields (top_k, thinking) in additionalModelRequestFields.
 */

type Part = Record<string, unknown>;
type Block = Record<string, unknown>;
interface ConverseMessage {
  role: "user" | "assistant";
  content: Block[];
}

const CACHE_POINT: Block = { cachePoint: { type: "default" } };
const IMAGE_FORMATS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};
const DOCUMENT_FORMATS: Record<string, string> = {
  "application/pdf": "pdf",
  "text/csv": "csv",
  "application/msword": "doc",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "application/vnd.ms-excel": "xls",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
  "text/html": "html",
  "text/plain": "txt",
  "text/markdown": "md",
};
const THINKING_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };

export interface ConverseRequest {
  body: Record<string, unknown>;
  jsonTool?: string;
}

export function chatToConverse(
  request: ChatRequest,
  model: BedrockModel,
  defaults: { maxTokens?: number },
): ConverseRequest {
  if (typeof request.n === "number" && request.n > 1) {
    throw badRequest("Bedrock Converse returns one choice: 'n' greater than 1 is not supported", "n");
  }
  const system: Block[] = [];
  const messages: ConverseMessage[] = [];
  let documentCount = 0;
  const media = (url: string, where: string): Block => {
    const block = mediaBlock(url, where, () => `document-${++documentCount}`);
    return block;
  };
  for (const [index, message] of request.messages.entries()) {
    const role = message.role;
    const cache = message.cache_control ? [CACHE_POINT] : [];
    if (role === "system" || role === "developer") {
      system.push(...textParts(message.content, index, media), ...cache);
    } else if (role === "user") {
      push(messages, "user", [...textParts(message.content, index, media), ...cache]);
    } else if (role === "assistant") {
      const blocks = assistantBlocks(message);
      if (blocks.length > 0) push(messages, "assistant", [...blocks, ...cache]);
    } else if (role === "tool" || role === "function") {
      const toolUseId = role === "tool" ? message.tool_call_id : message.name;
      if (typeof toolUseId !== "string") {
        throw badRequest(`messages[${index}]: a tool message needs 'tool_call_id'`, `messages[${index}]`);
      }
      const toolResult: Block = { toolUseId, content: toolResultContent(message.content, index, media) };
      if (message.is_error === true) toolResult.status = "error";
      push(messages, "user", [{ toolResult }, ...cache]);
    } else {
      throw badRequest(`messages[${index}]: unsupported role '${String(role)}'`, `messages[${index}].role`);
    }
  }

  const body: Record<string, unknown> = { messages };
  if (system.length > 0) body.system = system;
  const inference: Record<string, unknown> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? defaults.maxTokens;
  if (typeof maxTokens === "number" && maxTokens > 0) inference.maxTokens = Math.floor(maxTokens);
  if (typeof request.temperature === "number") inference.temperature = request.temperature;
  if (typeof request.top_p === "number") inference.topP = request.top_p;
  const stop = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (Array.isArray(stop) && stop.length > 0) inference.stopSequences = stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;

  const additional: Record<string, unknown> = {
    ...((request.additionalModelRequestFields as Record<string, unknown> | undefined) ?? {}),
  };
  if (typeof request.top_k === "number") additional.top_k = request.top_k;
  if (model.family === "anthropic") {
    const thinking =
      request.thinking && typeof request.thinking === "object"
        ? request.thinking
        : typeof request.reasoning_effort === "string" && THINKING_BUDGETS[request.reasoning_effort]
          ? { type: "enabled", budget_tokens: THINKING_BUDGETS[request.reasoning_effort] }
          : undefined;
    if (thinking) additional.thinking = thinking;
  }
  if (Object.keys(additional).length > 0) body.additionalModelRequestFields = additional;
  for (const key of ["guardrailConfig", "performanceConfig", "requestMetadata", "promptVariables"]) {
    if (request[key] !== undefined) body[key] = request[key];
  }

  const tools: Block[] = [];
  if (Array.isArray(request.tools)) {
    for (const [index, tool] of (request.tools as Part[]).entries()) {
      const fn = tool.function as Part | undefined;
      if (tool.type !== "function" || typeof fn?.name !== "string") {
        throw badRequest(`tools[${index}]: only function tools are supported on Bedrock`, "tools");
      }
      const spec: Block = {
        name: fn.name,
        inputSchema: { json: (fn.parameters as Part | undefined) ?? { type: "object", properties: {} } },
      };
      if (typeof fn.description === "string" && fn.description.length > 0) spec.description = fn.description;
      tools.push({ toolSpec: spec });
      if (tool.cache_control) tools.push(CACHE_POINT);
    }
  }
  let toolChoice = toolChoiceOf(request.tool_choice);
  let jsonTool: string | undefined;
  const format = request.response_format as Part | undefined;
  if (format && (format.type === "json_schema" || format.type === "json_object")) {
    const schema =
      format.type === "json_schema" ? ((format.json_schema as Part | undefined)?.schema as Part) : undefined;
    jsonTool = JSON_TOOL_NAME;
    tools.push({
      toolSpec: {
        name: JSON_TOOL_NAME,
        description: "Respond with a JSON object.",
        inputSchema: { json: schema ?? { type: "object" } },
      },
    });
    toolChoice = { tool: { name: JSON_TOOL_NAME } };
  }
  // Converse wants toolConfig whenever the conversation holds toolUse/toolResult blocks.
  if (tools.length > 0) {
    const toolConfig: Record<string, unknown> = { tools };
    if (toolChoice) toolConfig.toolChoice = toolChoice;
    body.toolConfig = toolConfig;
  }
  return jsonTool ? { body, jsonTool } : { body };
}

function push(messages: ConverseMessage[], role: "user" | "assistant", blocks: Block[]): void {
  const previous = messages.at(-1);
  if (previous && previous.role === role) previous.content.push(...blocks);
  else messages.push({ role, content: blocks });
}

function textParts(content: unknown, index: number, media: (url: string, where: string) => Block): Block[] {
  if (typeof content === "string") return content.length > 0 ? [{ text: content }] : [];
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content)) {
    throw badRequest(`messages[${index}].content must be a string or an array`, `messages[${index}].content`);
  }
  const blocks: Block[] = [];
  for (const [partIndex, part] of (content as Part[]).entries()) {
    const where = `messages[${index}].content[${partIndex}]`;
    if (part?.type === "text") {
      if (typeof part.text === "string" && part.text.length > 0) blocks.push({ text: part.text });
    } else if (part?.type === "image_url") {
      const imageUrl = part.image_url as Part | string | undefined;
      const url = typeof imageUrl === "string" ? imageUrl : imageUrl?.url;
      if (typeof url !== "string") throw badRequest(`${where}: image_url.url is required`, where);
      blocks.push(media(url, where));
    } else if (part?.type === "file") {
      const file = part.file as Part | undefined;
      if (typeof file?.file_data !== "string") {
        throw badRequest(`${where}: only inline files (file.file_data as a data: URL) are supported`, where);
      }
      blocks.push(media(file.file_data, where));
    } else {
      throw badRequest(`${where}: content type '${String(part?.type)}' is not supported by Bedrock`, where);
    }
    if (part?.cache_control) blocks.push(CACHE_POINT);
  }
  return blocks;
}

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

function mediaBlock(url: string, where: string, documentName: () => string): Block {
  const match = DATA_URL.exec(url);
  if (match) {
    const mediaType = match[1]!.toLowerCase();
    const bytes = match[2]!;
    const image = IMAGE_FORMATS[mediaType];
    if (image) return { image: { format: image, source: { bytes } } };
    const document = DOCUMENT_FORMATS[mediaType];
    if (document) return { document: { format: document, name: documentName(), source: { bytes } } };
    throw badRequest(`${where}: media type '${mediaType}' is not supported by Bedrock`, where);
  }
  if (url.startsWith("s3://")) {
    const extension = url.split("?")[0]!.split(".").pop()?.toLowerCase() ?? "";
    const image = extension === "jpg" ? "jpeg" : extension;
    if (["png", "jpeg", "gif", "webp"].includes(image)) {
      return { image: { format: image, source: { s3Location: { uri: url } } } };
    }
    if (Object.values(DOCUMENT_FORMATS).includes(extension)) {
      return { document: { format: extension, name: documentName(), source: { s3Location: { uri: url } } } };
    }
  }
  throw badRequest(
    `${where}: Bedrock takes images as data: URLs (base64) or s3:// locations; the gateway does not download http(s) URLs`,
    where,
  );
}

function assistantBlocks(message: Record<string, unknown>): Block[] {
  const blocks: Block[] = [];
  const content = message.content;
  if (typeof content === "string") {
    if (content.length > 0) blocks.push({ text: content });
  } else if (Array.isArray(content)) {
    for (const part of content as Part[]) {
      if (part?.type === "text" && typeof part.text === "string" && part.text.length > 0)
        blocks.push({ text: part.text });
    }
  }
  if (Array.isArray(message.tool_calls)) {
    for (const [callIndex, call] of (message.tool_calls as Part[]).entries()) {
      const fn = call.function as Part | undefined;
      if (typeof fn?.name !== "string") continue;
      blocks.push({
        toolUse: {
          toolUseId: typeof call.id === "string" ? call.id : `tooluse_llmux_${callIndex}`,
          name: fn.name,
          input: parseArguments(fn.arguments),
        },
      });
    }
  }
  return blocks;
}

function toolResultContent(
  content: unknown,
  index: number,
  media: (url: string, where: string) => Block,
): Block[] {
  // Text, not `json` blocks: every Converse model takes text tool results.
  if (typeof content === "string") return [{ text: content.length > 0 ? content : " " }];
  if (Array.isArray(content)) {
    const blocks = textParts(content, index, media).filter((block) => !("cachePoint" in block));
    return blocks.length > 0 ? blocks : [{ text: " " }];
  }
  return [{ text: content === null || content === undefined ? " " : JSON.stringify(content) }];
}

function toolChoiceOf(choice: unknown): Block | undefined {
  if (choice === undefined || choice === null || choice === "none") return undefined;
  if (choice === "auto") return { auto: {} };
  if (choice === "required") return { any: {} };
  if (typeof choice === "object") {
    const name = ((choice as Part).function as Part | undefined)?.name;
    if (typeof name === "string") return { tool: { name } };
  }
  throw badRequest("tool_choice must be 'auto', 'required', 'none' or a function", "tool_choice");
}

/** Converse stopReason → OpenAI finish_reason. */
export function finishReasonFromConverse(stopReason: unknown): string {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "guardrail_intervened":
    case "content_filtered":
      return "content_filter";
    default:
      return "stop";
  }
}

/** A Converse response → an OpenAI chat completion. */
export function converseToCompletion(
  response: Record<string, unknown>,
  context: { id: string; model: string; jsonTool?: string },
): { completion: ChatCompletion; usage: Usage | null } {
  const message = ((response.output as Part | undefined)?.message ?? {}) as Part;
  let text = "";
  let reasoning = "";
  let jsonAnswer: string | undefined;
  const toolCalls: Part[] = [];
  for (const block of (message.content as Block[] | undefined) ?? []) {
    if (typeof block.text === "string") text += block.text;
    const toolUse = block.toolUse as Part | undefined;
    if (toolUse) {
      if (context.jsonTool && toolUse.name === context.jsonTool) {
        jsonAnswer = JSON.stringify(toolUse.input ?? {});
        continue;
      }
      toolCalls.push({
        id: toolUse.toolUseId,
        type: "function",
        function: { name: toolUse.name, arguments: JSON.stringify(toolUse.input ?? {}) },
      });
    }
    const reasoningText = ((block.reasoningContent as Part | undefined)?.reasoningText as Part | undefined)
      ?.text;
    if (typeof reasoningText === "string") reasoning += reasoningText;
  }
  const assistant: Part = { role: "assistant" };
  assistant.content = jsonAnswer ?? (text.length > 0 || toolCalls.length === 0 ? text : null);
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  if (reasoning) assistant.reasoning_content = reasoning;
  let finishReason = finishReasonFromConverse(response.stopReason);
  if (jsonAnswer !== undefined && toolCalls.length === 0 && finishReason === "tool_calls")
    finishReason = "stop";
  const usage = response.usage ? usageFromBedrock(response.usage as Part) : null;
  const completion: ChatCompletion = {
    id: context.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: context.model,
    choices: [{ index: 0, message: assistant, finish_reason: finishReason, logprobs: null }],
  };
  if (usage) completion.usage = openAiUsageFrom(usage);
  return { completion, usage };
}

function badRequest(message: string, param: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, param, code: "unsupported_for_provider" });
}
