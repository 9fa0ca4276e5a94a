import { LlmuxError } from "../errors/llmux-error";
import type { ChatRequest } from "../providers/types";
import type { ResponseItem, ResponsesRequest } from "./types";

type Part = Record<string, unknown>;

/** What the translation needs to map the answer back (tool namespaces). */
export interface ChatTranslation {
  request: ChatRequest;
  /** Function name → its namespace, for tools that came inside a `namespace` tool (Codex). */
  namespaces: Map<string, string>;
}

/** Hosted tools that exist only on OpenAI; dropped for every other provider. */
const HOSTED_TOOLS = new Set([
  "web_search",
  "web_search_preview",
  "file_search",
  "code_interpreter",
  "computer_use_preview",
  "image_generation",
  "mcp",
  "local_shell",
  "shell",
  "apply_patch",
  "custom",
]);

/**
 * Responses request → OpenAI chat request, for /v1/responses calls routed to a deployment that does
 * not speak the Responses API: `instructions` becomes the first system message; `input` (a string or
 * items) becomes messages in order (developer/system → system, function_call → the assistant's
 * tool_calls, function_call_output → a tool message, reasoning items dropped); function tools (also
 * inside a `namespace`) become chat functions and hosted tools (web_search, file_search, ...) are
 * dropped; max_output_tokens, temperature, top_p, reasoning.effort, text.format, tool_choice,
 * parallel_tool_calls and user are mapped. `previous_response_id` must have been expanded already.
 */
export function responsesToChatRequest(body: ResponsesRequest): ChatTranslation {
  const messages: Array<Record<string, unknown>> = [];
  if (typeof body.instructions === "string" && body.instructions.length > 0)
    messages.push({ role: "system", content: body.instructions });
  const input = body.input;
  if (typeof input === "string") messages.push({ role: "user", content: input });
  else if (Array.isArray(input)) {
    for (const [index, item] of input.entries()) addItem(messages, item, `input[${index}]`);
  }
  const request: ChatRequest = { model: body.model, messages };
  if (typeof body.max_output_tokens === "number") request.max_tokens = body.max_output_tokens;
  if (typeof body.temperature === "number") request.temperature = body.temperature;
  if (typeof body.top_p === "number") request.top_p = body.top_p;
  if (typeof body.user === "string") request.user = body.user;
  if (typeof body.safety_identifier === "string" && request.user === undefined)
    request.user = body.safety_identifier;
  if (body.stream === true) request.stream = true;
  const effort = (body.reasoning as { effort?: unknown } | null | undefined)?.effort;
  if (typeof effort === "string") request.reasoning_effort = effort;
  const format = (body.text as { format?: Part } | null | undefined)?.format;
  if (format && typeof format === "object") {
    if (format.type === "json_schema") {
      const { type: _type, ...schema } = format;
      request.response_format = { type: "json_schema", json_schema: schema };
    } else if (format.type === "json_object") request.response_format = { type: "json_object" };
  }
  const namespaces = new Map<string, string>();
  const tools = translateTools(body.tools, namespaces);
  if (tools.length > 0) {
    request.tools = tools;
    if (typeof body.parallel_tool_calls === "boolean") request.parallel_tool_calls = body.parallel_tool_calls;
    const choice = body.tool_choice as string | Part | undefined;
    if (choice === "auto" || choice === "none" || choice === "required") request.tool_choice = choice;
    else if (
      choice &&
      typeof choice === "object" &&
      choice.type === "function" &&
      typeof choice.name === "string"
    )
      request.tool_choice = { type: "function", function: { name: choice.name } };
  }
  return { request, namespaces };
}

function translateTools(tools: unknown, namespaces: Map<string, string>): Part[] {
  if (!Array.isArray(tools)) return [];
  const translated: Part[] = [];
  for (const tool of tools as Part[]) {
    if (tool.type === "function") translated.push(functionTool(tool));
    else if (tool.type === "namespace" && Array.isArray(tool.tools)) {
      for (const inner of tool.tools as Part[]) {
        if (inner.type !== "function") continue;
        translated.push(functionTool(inner));
        if (typeof inner.name === "string" && typeof tool.name === "string")
          namespaces.set(inner.name, tool.name);
      }
    } else if (typeof tool.type === "string" && HOSTED_TOOLS.has(tool.type)) {
      // OpenAI's hosted tools run on OpenAI's side: other providers have none.
    } else {
      throw badRequest(`tools: type '${String(tool.type)}' cannot be sent to this deployment`, "tools");
    }
  }
  return translated;
}

function functionTool(tool: Part): Part {
  const definition: Part = {
    name: tool.name,
    parameters: tool.parameters ?? { type: "object", properties: {} },
  };
  if (typeof tool.description === "string") definition.description = tool.description;
  if (typeof tool.strict === "boolean") definition.strict = tool.strict;
  return { type: "function", function: definition };
}

function addItem(messages: Array<Record<string, unknown>>, item: ResponseItem, where: string): void {
  if (!item || typeof item !== "object") throw badRequest(`${where}: expected an object`, where);
  const type = item.type ?? (typeof item.role === "string" ? "message" : undefined);
  switch (type) {
    case "message": {
      const role = item.role === "developer" ? "system" : item.role;
      if (role !== "user" && role !== "system" && role !== "assistant")
        throw badRequest(
          `${where}.role: expected 'user', 'assistant', 'system' or 'developer'`,
          `${where}.role`,
        );
      if (role === "assistant") {
        messages.push({ role: "assistant", content: assistantText(item.content, where) });
        return;
      }
      messages.push({ role, content: contentParts(item.content, where, role === "system") });
      return;
    }
    case "function_call": {
      const call = {
        id: item.call_id,
        type: "function",
        function: { name: item.name, arguments: typeof item.arguments === "string" ? item.arguments : "{}" },
      };
      const last = messages.at(-1);
      // Consecutive calls (and the text before them) are one assistant turn in chat.
      if (last?.role === "assistant") {
        last.tool_calls = [...((last.tool_calls as unknown[] | undefined) ?? []), call];
        if (last.content === "") last.content = null;
      } else messages.push({ role: "assistant", content: null, tool_calls: [call] });
      return;
    }
    case "function_call_output":
      messages.push({ role: "tool", tool_call_id: item.call_id, content: toolOutput(item.output, where) });
      return;
    case "reasoning":
      // Reasoning items belong to the model that wrote them; other providers cannot take them.
      return;
    case "item_reference":
      throw badRequest(`${where}: item_reference is only available on OpenAI deployments`, where);
    default:
      throw badRequest(`${where}: item type '${String(type)}' cannot be sent to this deployment`, where);
  }
}

function assistantText(content: unknown, where: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw badRequest(`${where}.content: expected a string or an array`, where);
  return (content as Part[])
    .map((part) =>
      part.type === "output_text" || part.type === "input_text" || part.type === "text"
        ? String(part.text ?? "")
        : part.type === "refusal"
          ? String(part.refusal ?? "")
          : "",
    )
    .join("");
}

function contentParts(content: unknown, where: string, textOnly: boolean): string | Part[] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw badRequest(`${where}.content: expected a string or an array`, where);
  const parts = (content as Part[]).map((part, index) => contentPart(part, `${where}.content[${index}]`));
  if (textOnly || parts.every((part) => part.type === "text")) {
    if (parts.some((part) => part.type !== "text"))
      throw badRequest(`${where}.content: a system message takes text only`, where);
    return parts.length === 1 ? String(parts[0]!.text) : parts;
  }
  return parts;
}

function contentPart(part: Part, where: string): Part {
  switch (part?.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: String(part.text ?? "") };
    case "input_image": {
      if (typeof part.image_url !== "string")
        throw badRequest(`${where}: only input_image with image_url can be sent to this deployment`, where);
      const image: Part = { url: part.image_url };
      if (typeof part.detail === "string") image.detail = part.detail;
      return { type: "image_url", image_url: image };
    }
    case "input_file": {
      if (typeof part.file_data !== "string")
        throw badRequest(`${where}: only input_file with file_data can be sent to this deployment`, where);
      const file: Part = { file_data: part.file_data };
      if (typeof part.filename === "string") file.filename = part.filename;
      return { type: "file", file };
    }
    default:
      throw badRequest(
        `${where}: content type '${String(part?.type)}' cannot be sent to this deployment`,
        where,
      );
  }
}

function toolOutput(output: unknown, where: string): string | Part[] {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    const parts = (output as Part[]).map((part, index) => contentPart(part, `${where}.output[${index}]`));
    return parts.every((part) => part.type === "text")
      ? parts.map((part) => String(part.text)).join("")
      : parts;
  }
  return output === undefined || output === null ? "" : JSON.stringify(output);
}

function badRequest(message: string, param: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, param, code: "invalid_request_error" });
}
