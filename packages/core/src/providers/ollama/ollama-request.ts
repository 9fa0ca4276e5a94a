import { parseArguments } from "../../anthropic-format/chat-to-messages-request";
import { LlmuxError } from "../../errors/llmux-error";
import type { ChatRequest } from "../types";

/**
 * OpenAI chat → Ollama's native API (https://github.com/ollama/ollama/blob/main/docs/api.md):
 * /api/chat messages (text, base64 `images`, `tool_calls` with object arguments, tool results with
 * `tool_name`) and OpenAI tools as they are; /api/generate gets `system` + `prompt` (+ images).
 * Sampling parameters go into `options` (max_tokens → num_predict).
 */

type Part = Record<string, unknown>;

export function ollamaChatBody(request: ChatRequest, model: string, defaults: Part): Part {
  const toolNames = new Map<string, string>();
  const messages: Part[] = [];
  for (const [index, message] of request.messages.entries()) {
    const role = message.role === "developer" ? "system" : message.role;
    if (role === "tool" || role === "function") {
      const id = role === "tool" ? message.tool_call_id : message.name;
      const converted: Part = { role: "tool", content: textOf(message.content, index).text };
      const toolName =
        typeof id === "string" ? (toolNames.get(id) ?? (role === "function" ? id : undefined)) : undefined;
      if (toolName) converted.tool_name = toolName;
      messages.push(converted);
      continue;
    }
    if (role !== "system" && role !== "user" && role !== "assistant") {
      throw badRequest(`messages[${index}]: unsupported role '${String(role)}'`, `messages[${index}].role`);
    }
    const { text, images } = textOf(message.content, index);
    const converted: Part = { role, content: text };
    if (images.length > 0) converted.images = images;
    if (role === "assistant" && Array.isArray(message.tool_calls)) {
      converted.tool_calls = (message.tool_calls as Part[]).map((call) => {
        const fn = (call.function ?? {}) as Part;
        if (typeof call.id === "string" && typeof fn.name === "string") toolNames.set(call.id, fn.name);
        return { function: { name: fn.name, arguments: parseArguments(fn.arguments) } };
      });
    }
    if (role === "assistant" && typeof message.reasoning_content === "string") {
      converted.thinking = message.reasoning_content;
    }
    messages.push(converted);
  }
  const body: Part = { model, messages, stream: request.stream === true };
  if (Array.isArray(request.tools) && request.tools.length > 0) body.tools = request.tools;
  applyCommon(body, request, defaults);
  return body;
}

export function ollamaGenerateBody(request: ChatRequest, model: string, defaults: Part): Part {
  if (Array.isArray(request.tools) && request.tools.length > 0) {
    throw badRequest(
      "ollama/ (/api/generate) has no tool calling; use an ollama_chat/ deployment (/api/chat) for tools",
      "tools",
    );
  }
  const system: string[] = [];
  const turns: Array<{ role: string; text: string }> = [];
  const images: string[] = [];
  for (const [index, message] of request.messages.entries()) {
    const content = textOf(message.content, index);
    images.push(...content.images);
    if (message.role === "system" || message.role === "developer") system.push(content.text);
    else turns.push({ role: String(message.role), text: content.text });
  }
  // One user turn goes in as it is (the model's template wraps it); a conversation as a transcript.
  const last = turns.at(-1);
  const prompt =
    turns.length === 1 && last?.role === "user"
      ? last.text
      : `${turns.map((turn) => `### ${label(turn.role)}:\n${turn.text}`).join("\n\n")}\n\n### Assistant:\n`;
  const body: Part = { model, prompt, stream: request.stream === true };
  if (system.length > 0) body.system = system.join("\n\n");
  if (images.length > 0) body.images = images;
  applyCommon(body, request, defaults);
  return body;
}

function label(role: string): string {
  if (role === "assistant") return "Assistant";
  if (role === "tool" || role === "function") return "Tool";
  return "User";
}

const OPTION_KEYS: Record<string, string> = {
  temperature: "temperature",
  top_p: "top_p",
  top_k: "top_k",
  seed: "seed",
  presence_penalty: "presence_penalty",
  frequency_penalty: "frequency_penalty",
  repeat_penalty: "repeat_penalty",
  num_ctx: "num_ctx",
  min_p: "min_p",
};

function applyCommon(body: Part, request: ChatRequest, defaults: Part): void {
  const options: Part = { ...((defaults.options as Part | undefined) ?? {}) };
  for (const [from, to] of Object.entries(OPTION_KEYS)) {
    if (typeof request[from] === "number") options[to] = request[from];
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (typeof maxTokens === "number") options.num_predict = maxTokens;
  const stop = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (Array.isArray(stop) && stop.length > 0) options.stop = stop;
  if (request.options && typeof request.options === "object") Object.assign(options, request.options);
  if (Object.keys(options).length > 0) body.options = options;
  const format = request.response_format as Part | undefined;
  if (format?.type === "json_object") body.format = "json";
  else if (format?.type === "json_schema") {
    body.format = ((format.json_schema as Part | undefined)?.schema as Part | undefined) ?? "json";
  } else if (request.format !== undefined) body.format = request.format;
  const keepAlive = request.keep_alive ?? defaults.keep_alive;
  if (keepAlive !== undefined) body.keep_alive = keepAlive;
  if (request.think !== undefined) body.think = request.think;
  else if (typeof request.reasoning_effort === "string") {
    body.think = request.reasoning_effort !== "none";
  }
}

const DATA_URL = /^data:image\/[^;,]+(?:;[^,]*)?;base64,(.*)$/s;

function textOf(content: unknown, index: number): { text: string; images: string[] } {
  if (typeof content === "string") return { text: content, images: [] };
  if (content === null || content === undefined) return { text: "", images: [] };
  if (!Array.isArray(content)) {
    throw badRequest(`messages[${index}].content must be a string or an array`, `messages[${index}].content`);
  }
  const texts: string[] = [];
  const images: string[] = [];
  for (const [partIndex, part] of (content as Part[]).entries()) {
    const where = `messages[${index}].content[${partIndex}]`;
    if (part?.type === "text" && typeof part.text === "string") texts.push(part.text);
    else if (part?.type === "image_url") {
      const imageUrl = part.image_url as Part | string | undefined;
      const url = typeof imageUrl === "string" ? imageUrl : imageUrl?.url;
      const match = typeof url === "string" ? DATA_URL.exec(url) : null;
      if (!match) {
        throw badRequest(
          `${where}: Ollama takes images as base64 data: URLs; the gateway does not download http(s) URLs`,
          where,
        );
      }
      images.push(match[1]!);
    } else {
      throw badRequest(`${where}: content type '${String(part?.type)}' is not supported by Ollama`, where);
    }
  }
  return { text: texts.join("\n"), images };
}

function badRequest(message: string, param: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, param, code: "unsupported_for_provider" });
}
