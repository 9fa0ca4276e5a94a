import type {
  AnthropicUsageLike,
  BedrockUsageLike,
  OllamaResponseLike,
  OpenAIUsageLike,
  Usage,
} from "./types.js";

/** A count from a provider: a finite non-negative number, else 0. */
function count(value: number | null | undefined): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * A consistent `Usage`: parts never exceed their whole (cache reads + writes ≤ input, reasoning ≤
 * output) and totalTokens = inputTokens + outputTokens.
 */
export function makeUsage(parts: {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  cacheCreationInputTokens?: number;
  cacheCreation1hInputTokens?: number;
  reasoningTokens?: number;
}): Usage {
  const inputTokens = count(parts.inputTokens);
  const outputTokens = count(parts.outputTokens);
  const cachedInputTokens = Math.min(count(parts.cachedInputTokens), inputTokens);
  const cacheCreationInputTokens = Math.min(
    count(parts.cacheCreationInputTokens),
    inputTokens - cachedInputTokens,
  );
  const usage: Usage = {
    inputTokens,
    cachedInputTokens,
    cacheCreationInputTokens,
    outputTokens,
    reasoningTokens: Math.min(count(parts.reasoningTokens), outputTokens),
    totalTokens: inputTokens + outputTokens,
  };
  const oneHour = Math.min(count(parts.cacheCreation1hInputTokens), cacheCreationInputTokens);
  if (oneHour > 0) usage.cacheCreation1hInputTokens = oneHour;
  return usage;
}

/**
 * OpenAI chat completions / embeddings usage: prompt_tokens already includes the cached tokens
 * (prompt_tokens_details.cached_tokens) and completion_tokens the reasoning tokens
 * (completion_tokens_details.reasoning_tokens). The Responses API's input_/output_ names work too.
 */
export function usageFromOpenAI(usage: OpenAIUsageLike | null | undefined): Usage {
  const source = usage ?? {};
  return makeUsage({
    inputTokens: count(source.prompt_tokens ?? source.input_tokens),
    outputTokens: count(source.completion_tokens ?? source.output_tokens),
    cachedInputTokens: count(
      source.prompt_tokens_details?.cached_tokens ??
        source.input_tokens_details?.cached_tokens ??
        source.prompt_cache_hit_tokens,
    ),
    cacheCreationInputTokens: count(source.cache_creation_input_tokens),
    reasoningTokens: count(
      source.completion_tokens_details?.reasoning_tokens ?? source.output_tokens_details?.reasoning_tokens,
    ),
  });
}

/**
 * Anthropic Messages usage: input_tokens counts only the uncached prompt tokens, so the prompt total
 * is input_tokens + cache_read_input_tokens + cache_creation_input_tokens. Thinking tokens are part
 * of output_tokens and not reported apart (reasoningTokens is 0).
 */
export function usageFromAnthropic(usage: AnthropicUsageLike | null | undefined): Usage {
  const source = usage ?? {};
  const cacheRead = count(source.cache_read_input_tokens);
  const cacheCreation = count(source.cache_creation_input_tokens);
  return makeUsage({
    inputTokens: count(source.input_tokens) + cacheRead + cacheCreation,
    outputTokens: count(source.output_tokens),
    cachedInputTokens: cacheRead,
    cacheCreationInputTokens: cacheCreation,
    cacheCreation1hInputTokens: count(source.cache_creation?.ephemeral_1h_input_tokens),
  });
}

/**
 * Bedrock Converse usage. AWS documents (Bedrock prompt caching) that with caching on, `inputTokens`
 * counts only the tokens neither read from nor written to the cache: the prompt total is
 * inputTokens + cacheReadInputTokens + cacheWriteInputTokens (LiteLLM does the same). Converse does
 * not report reasoning tokens apart from outputTokens.
 */
export function usageFromBedrock(usage: BedrockUsageLike | null | undefined): Usage {
  const source = usage ?? {};
  const cacheRead = count(source.cacheReadInputTokens);
  const cacheWrite = count(source.cacheWriteInputTokens);
  return makeUsage({
    inputTokens: count(source.inputTokens) + cacheRead + cacheWrite,
    outputTokens: count(source.outputTokens),
    cachedInputTokens: cacheRead,
    cacheCreationInputTokens: cacheWrite,
  });
}

/**
 * Ollama native API (/api/chat, /api/generate, /api/embed): prompt_eval_count prompt tokens and
 * eval_count generated tokens (thinking included). Ollama reports no cache counts.
 */
export function usageFromOllama(response: OllamaResponseLike | null | undefined): Usage {
  const source = response ?? {};
  return makeUsage({
    inputTokens: count(source.prompt_eval_count),
    outputTokens: count(source.eval_count),
  });
}
