import type { Usage } from "@llmux/pricing";
import type { AnthropicUsage } from "./types";

/**
 * Usage in the two wire formats. Anthropic's input_tokens excludes cache reads and writes; OpenAI's
 * prompt_tokens includes them (cached ones reported in prompt_tokens_details.cached_tokens).
 */

/** Normalised usage → OpenAI's usage object (plus Anthropic's cache fields, as LiteLLM reports them). */
export function openAiUsageFrom(usage: Usage): Record<string, unknown> {
  const body: Record<string, unknown> = {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
  if (usage.cacheCreationInputTokens > 0 || usage.cachedInputTokens > 0) {
    body.cache_creation_input_tokens = usage.cacheCreationInputTokens;
    body.cache_read_input_tokens = usage.cachedInputTokens;
  }
  return body;
}

/** Normalised usage → Anthropic's usage object. */
export function anthropicUsageFrom(usage: Usage): AnthropicUsage {
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens),
    cache_creation_input_tokens: usage.cacheCreationInputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    output_tokens: usage.outputTokens,
  };
}

/** Anthropic stream usage: message_start carries the input side, message_delta the (cumulative) rest. */
export function mergeAnthropicUsage(base: AnthropicUsage | undefined, update: unknown): AnthropicUsage {
  const merged: AnthropicUsage = { ...(base ?? {}) };
  if (update && typeof update === "object") {
    for (const [key, value] of Object.entries(update as Record<string, unknown>)) {
      if (value !== null && value !== undefined) merged[key] = value;
    }
  }
  return merged;
}
