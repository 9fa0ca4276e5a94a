import { countTextTokens } from "./tokenizer";

/**
 * Prompt tokens of a request body in any of the gateway's formats: OpenAI chat (`messages`),
 * Anthropic Messages (`system` + `messages`), Responses (`instructions` + `input`), legacy
 * completions (`prompt`) and embeddings (`input`), plus tool definitions. Text is counted with the
 * model's encoding (see tokenizer.ts); the framing follows OpenAI's published recipe (3 tokens per
 * message, 1 per name, 3 to prime the reply); an image counts 85 tokens at low detail and 765
 * otherwise (OpenAI's 512px-tile estimate for a typical image); a file 1,000. For other vendors'
 * models the result is an estimate.
 */
export function countPromptTokens(body: Record<string, unknown>, model?: string): number {
  const name = model ?? (typeof body.model === "string" ? body.model : undefined);
  let tokens = 0;
  if (Array.isArray(body.messages)) tokens += countMessages(body.messages, name) + 3;
  if (body.system !== undefined) tokens += countContent(body.system, name);
  if (typeof body.instructions === "string") tokens += countTextTokens(body.instructions, name) + 3;
  if (body.input !== undefined) tokens += countContent(body.input, name);
  if (body.prompt !== undefined) tokens += countContent(body.prompt, name);
  if (Array.isArray(body.tools) && body.tools.length > 0)
    tokens += countTextTokens(JSON.stringify(body.tools), name);
  return tokens;
}

function countMessages(messages: unknown[], model: string | undefined): number {
  let tokens = 0;
  for (const message of messages) {
    if (!message || typeof message !== "object") continue;
    const record = message as Record<string, unknown>;
    tokens += 3 + countContent(record.content, model);
    if (typeof record.name === "string") tokens += 1 + countTextTokens(record.name, model);
    if (record.tool_calls !== undefined) tokens += countTextTokens(JSON.stringify(record.tool_calls), model);
    if (typeof record.reasoning_content === "string")
      tokens += countTextTokens(record.reasoning_content, model);
  }
  return tokens;
}

/** A string, a content part / block / item, or an array of them. */
function countContent(value: unknown, model: string | undefined): number {
  if (typeof value === "string") return countTextTokens(value, model);
  if (Array.isArray(value)) {
    let tokens = 0;
    for (const item of value) tokens += countContent(item, model);
    return tokens;
  }
  if (!value || typeof value !== "object") return typeof value === "number" ? 1 : 0;
  const part = value as Record<string, unknown>;
  switch (part.type) {
    case "image_url":
    case "input_image":
    case "image": {
      const detail = (part.image_url as { detail?: unknown } | undefined)?.detail ?? part.detail;
      return detail === "low" ? 85 : 765;
    }
    case "file":
    case "input_file":
    case "document":
      return 1000;
    case "function_call":
      return (
        3 +
        countTextTokens(String(part.name ?? ""), model) +
        countTextTokens(String(part.arguments ?? ""), model)
      );
    case "function_call_output":
      return 3 + countContent(part.output, model);
    case "tool_use":
      return (
        countTextTokens(String(part.name ?? ""), model) +
        countTextTokens(JSON.stringify(part.input ?? {}), model)
      );
    case "tool_result":
      return countContent(part.content, model);
    case "thinking":
      return countTextTokens(String(part.thinking ?? ""), model);
    default:
      break;
  }
  let tokens = 0;
  if (typeof part.text === "string") tokens += countTextTokens(part.text, model);
  // Message-shaped items (Responses input, Anthropic messages inside arrays).
  if (part.content !== undefined) tokens += 3 + countContent(part.content, model);
  return tokens;
}
