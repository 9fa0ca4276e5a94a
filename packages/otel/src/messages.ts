/**
 * Prompt and response content in the shape of the GenAI conventions' `gen_ai.input.messages` /
 * `gen_ai.output.messages`: `[{ role, parts: [{ type: "text", content } | { type: "tool_call", id,
 * name, arguments } | { type: "tool_call_response", id, response } | { type: "uri", modality, uri }],
 * finish_reason? }]`. Accepts OpenAI chat messages and Anthropic content blocks; anything else is
 * kept as a generic part. Inline data URIs (base64 images) are replaced by a short placeholder so a
 * span never carries megabytes of image data.
 */

type Part = Record<string, unknown>;

interface SemconvMessage {
  role: string;
  parts: Part[];
  name?: string;
  finish_reason?: string;
}

const DATA_URI_PREFIX = "data:";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function summariseUri(uri: string): string {
  if (!uri.startsWith(DATA_URI_PREFIX)) return uri;
  const comma = uri.indexOf(",");
  const header = comma > 0 ? uri.slice(0, comma) : "data:";
  return `${header},[${Math.max(0, uri.length - comma - 1)} chars omitted]`;
}

function parseArguments(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function contentPart(block: unknown): Part {
  if (typeof block === "string") return { type: "text", content: block };
  if (!isRecord(block)) return { type: "generic", content: block };
  switch (block.type) {
    case "text":
      return { type: "text", content: block.text ?? block.content ?? "" };
    case "image_url": {
      const imageUrl = block.image_url;
      const url = isRecord(imageUrl) ? imageUrl.url : imageUrl;
      return { type: "uri", modality: "image", uri: typeof url === "string" ? summariseUri(url) : url };
    }
    case "image":
    case "document": {
      const source = isRecord(block.source) ? block.source : {};
      if (source.type === "url") return { type: "uri", modality: block.type, uri: source.url };
      return { type: "blob", modality: block.type, mime_type: source.media_type, content: "[omitted]" };
    }
    case "input_audio":
      return { type: "blob", modality: "audio", content: "[omitted]" };
    case "tool_use":
      return { type: "tool_call", id: block.id, name: block.name, arguments: block.input };
    case "tool_result":
      return { type: "tool_call_response", id: block.tool_use_id, response: block.content };
    case "thinking":
      return { type: "reasoning", content: block.thinking ?? "" };
    default:
      return { type: typeof block.type === "string" ? block.type : "generic", content: block };
  }
}

function contentParts(content: unknown): Part[] {
  if (content === undefined || content === null) return [];
  if (Array.isArray(content)) return content.map(contentPart);
  return [contentPart(content)];
}

function toolCallParts(toolCalls: unknown): Part[] {
  if (!Array.isArray(toolCalls)) return [];
  return toolCalls.map((call) => {
    if (!isRecord(call)) return { type: "tool_call", arguments: call };
    const fn = isRecord(call.function) ? call.function : {};
    return { type: "tool_call", id: call.id, name: fn.name, arguments: parseArguments(fn.arguments) };
  });
}

function toMessage(message: unknown): SemconvMessage {
  if (!isRecord(message)) return { role: "user", parts: contentParts(message) };
  const role = typeof message.role === "string" ? message.role : "user";
  if (role === "tool") {
    return {
      role,
      parts: [{ type: "tool_call_response", id: message.tool_call_id, response: message.content }],
    };
  }
  const parts = [...contentParts(message.content), ...toolCallParts(message.tool_calls)];
  const result: SemconvMessage = { role, parts };
  if (typeof message.name === "string") result.name = message.name;
  return result;
}

/** The prompt as `gen_ai.input.messages`; `undefined` when there is nothing message-shaped. */
export function toInputMessages(messages: unknown): SemconvMessage[] | undefined {
  if (Array.isArray(messages)) return messages.map(toMessage);
  if (isRecord(messages) && Array.isArray(messages.messages)) {
    // Anthropic requests keep the system prompt beside the messages.
    const system = messages.system;
    const list = messages.messages.map(toMessage);
    if (system !== undefined) list.unshift({ role: "system", parts: contentParts(system) });
    return list;
  }
  return undefined;
}

/** The response as `gen_ai.output.messages`: an assistant message, a list of them, or choices. */
export function toOutputMessages(response: unknown, finishReasons?: string[]): SemconvMessage[] | undefined {
  if (response === undefined || response === null) return undefined;
  let messages: unknown[];
  if (Array.isArray(response)) messages = response;
  else if (isRecord(response) && Array.isArray(response.choices)) {
    messages = response.choices.map((choice) =>
      isRecord(choice) ? (choice.message ?? choice.delta) : choice,
    );
  } else if (isRecord(response) && (response.role !== undefined || response.content !== undefined)) {
    messages = [response];
  } else return undefined;
  return messages.map((message, index) => {
    const converted = toMessage(message);
    if (!isRecord(message) || message.role === undefined) converted.role = "assistant";
    const reason = finishReasons?.[index] ?? finishReasons?.[0];
    if (reason !== undefined) converted.finish_reason = reason;
    return converted;
  });
}

/**
 * `JSON.stringify(text)` of a string, without the call when nothing in it needs an escape (a
 * role, a finish reason, an id, a model name: measured, the call costs several times the scan).
 * Long texts go to JSON.stringify, which is quicker than a loop over them.
 */
export function jsonString(text: string): string {
  if (text.length > 32) return JSON.stringify(text);
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // what JSON.stringify escapes: control characters, quote, backslash, lone surrogates (any
    // surrogate or higher code unit is left to it: rare in prompts, and it knows the pairs)
    if (code < 0x20 || code === 0x22 || code === 0x5c || code >= 0xd800) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** A message's role as JSON: the usual ones written out. */
function roleJson(role: string): string {
  if (role === "user") return '"user"';
  if (role === "assistant") return '"assistant"';
  if (role === "system") return '"system"';
  return jsonString(role);
}

/**
 * `{"role":…,"content":…}` (in the message's own key order) when `message` is a plain object with
 * those two keys only, as JSON.stringify(message) writes it, from their JSON; else undefined.
 */
function twoKeyMessageJson(
  message: Record<string, unknown>,
  role: string,
  content: string,
): string | undefined {
  if (Object.getPrototypeOf(message) !== Object.prototype || "toJSON" in message) return undefined;
  let json = "";
  // for-in: the own keys in JSON.stringify's order (inherited enumerable ones too, which end it here)
  for (const key in message) {
    if (key === "role") json += json === "" ? `{"role":${role}` : `,"role":${role}`;
    else if (key === "content") json += json === "" ? `{"content":${content}` : `,"content":${content}`;
    else return undefined;
  }
  // neither key enumerable (defined so on purpose): JSON.stringify writes an empty object
  return json === "" ? "{}" : `${json}}`;
}

/** A list of plain-text messages as JSON, two ways (see textMessagesJson). */
export interface TextMessagesJson {
  /** `JSON.stringify` of the converted messages: `gen_ai.input.messages` / `gen_ai.output.messages`. */
  converted: string;
  /**
   * `JSON.stringify(messages)` when the list is a plain array of plain objects with a role and a
   * content only (the usual prompt); else undefined (the caller stringifies the list).
   */
  raw: string | undefined;
}

/**
 * `JSON.stringify(toInputMessages(messages))` (or of `toOutputMessages(messages, finishReasons)` when
 * finish reasons are given) written as text when every message is plain text (a role other than
 * "tool", a string content, no tool calls, no name): the usual chat prompt and answer, converted
 * without a message object and a parts array per message. Each role and content is encoded to JSON
 * once, for this document and for the list's own JSON (`raw`), which the vendors' attributes hold.
 * Undefined for anything else (the caller converts and stringifies).
 */
export function textMessagesJson(
  messages: readonly unknown[],
  finishReasons?: readonly string[],
): TextMessagesJson | undefined {
  let converted = "[";
  let raw: string | undefined =
    Object.getPrototypeOf(messages) === Array.prototype && !("toJSON" in messages) ? "[" : undefined;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    if (!isRecord(message)) return undefined;
    const { role, content } = message;
    if (typeof role !== "string" || role === "tool" || typeof content !== "string") return undefined;
    if (typeof message.name === "string" || Array.isArray(message.tool_calls)) return undefined;
    const roleText = roleJson(role);
    const contentText = JSON.stringify(content);
    if (index > 0) converted += ",";
    converted += `{"role":${roleText},"parts":[{"type":"text","content":${contentText}}]`;
    if (finishReasons !== undefined) {
      const reason = finishReasons[index] ?? finishReasons[0];
      if (reason !== undefined)
        converted += `,"finish_reason":${typeof reason === "string" ? jsonString(reason) : JSON.stringify(reason)}`;
    }
    converted += "}";
    if (raw !== undefined) {
      const own = twoKeyMessageJson(message, roleText, contentText);
      raw = own === undefined ? undefined : index > 0 ? `${raw},${own}` : `${raw}${own}`;
    }
  }
  return { converted: `${converted}]`, raw: raw === undefined ? undefined : `${raw}]` };
}
