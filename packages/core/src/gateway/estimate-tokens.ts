import { countPromptTokens } from "../tokens/count-prompt";
import { countTextTokens as countText } from "../tokens/tokenizer";

/**
 * Token counts for pre-call checks (context-window fallbacks, cost-based routing, tpm limits) and for
 * the usage of streams whose upstream reports none. Counted with the model's BPE encoding once it is
 * loaded (see tokens/tokenizer.ts), approximated before that. Never used for billing when the
 * upstream reports usage.
 */
export function estimateTokens(value: unknown, model?: string): number {
  if (typeof value === "string") return countText(value, model);
  return countPromptTokens({ input: value }, model);
}

/** Prompt tokens of a request body (chat, Messages, Responses, completions), tool definitions included. */
export function estimatePromptTokens(body: Record<string, unknown>, model?: string): number {
  return countPromptTokens(body, model);
}

/** Tokens of a text (the output of a stream whose upstream reported no usage). */
export function countTextTokens(text: string, model?: string): number {
  return countText(text, model);
}
