/**
 * Public types of @llmux/pricing: normalised usage in, an exact cost breakdown out.
 * Every provider adapter produces a `Usage`; every sink reads a `CostBreakdown`.
 */

/** Token counts of one call, normalised across providers. */
export interface Usage {
  /** All prompt tokens, cached ones included (OpenAI's prompt_tokens; Anthropic's input + cache read + cache creation). */
  inputTokens: number;
  /** Prompt tokens read from a cache (subset of inputTokens). */
  cachedInputTokens: number;
  /** Prompt tokens written to a cache (subset of inputTokens; Anthropic cache_creation_input_tokens). */
  cacheCreationInputTokens: number;
  /** All completion tokens, reasoning included. */
  outputTokens: number;
  /** Reasoning tokens (subset of outputTokens). */
  reasoningTokens: number;
  /**
   * Optional: cache writes made with a 1-hour TTL (subset of cacheCreationInputTokens; Anthropic
   * `cache_creation.ephemeral_1h_input_tokens`). Priced at the 1-hour cache-write rate where one exists.
   */
  cacheCreation1hInputTokens?: number;
  /** inputTokens + outputTokens. */
  totalTokens: number;
}

/** Cost of one call in USD, split by what was billed. */
export interface CostBreakdown {
  /** Uncached input tokens × input rate. */
  input: number;
  /** Output tokens (reasoning included, at its own rate where one exists) × output rate. */
  output: number;
  /** Cache reads × cache-read rate. */
  cacheRead: number;
  /** Cache writes × cache-write rate. */
  cacheCreation: number;
  /**
   * Optional: a per-call charge (LiteLLM `input_cost_per_request`, genai-prices `requests_kcount`).
   * Present only when the price has one; included in `total`.
   */
  request?: number;
  /** Sum of the four (plus `request` when present). */
  total: number;
  currency: "USD";
}

/** Per-deployment price overrides, in LiteLLM's litellm_params keys (USD per token). */
export interface PriceOverride {
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  cache_read_input_token_cost?: number;
  cache_creation_input_token_cost?: number;
  output_cost_per_reasoning_token?: number;
  input_cost_per_token_above_200k_tokens?: number;
  output_cost_per_token_above_200k_tokens?: number;
  /** Optional (added): the other long-context and 1-hour cache-write keys LiteLLM uses. */
  cache_read_input_token_cost_above_200k_tokens?: number;
  cache_creation_input_token_cost_above_200k_tokens?: number;
  cache_creation_input_token_cost_above_1hr?: number;
  /** Embeddings and other per-call prices. */
  input_cost_per_request?: number;
}

export interface CostQuery {
  /** Provider prefix as configured: "openai", "anthropic", "bedrock", "azure", "ollama", "mock", ... */
  provider: string;
  /** Model name without the provider prefix, e.g. "gpt-4o" or "anthropic.claude-3-5-sonnet-20241022-v2:0". */
  model: string;
  /** model_info.base_model when configured: priced instead of `model` when present. */
  baseModel?: string;
  usage: Usage;
  /** Per-deployment override; its keys win over bundled prices. */
  override?: PriceOverride;
  /** Optional: "embeddings" bills input only (output tokens, if any, are ignored). */
  callType?: "chat" | "embeddings" | "messages";
}

/** The priced result: a breakdown, or null with the reason it could not be priced. */
export type CostResult =
  | {
      cost: CostBreakdown;
      source: "override" | "litellm-file" | "genai-prices" | "free";
      reason?: undefined;
      /**
       * Optional: the price entry used, e.g. "genai-prices:openai/gpt-4o", "bundled-litellm:azure/gpt-4o",
       * "user-file:my-model", "override", "override+genai-prices:openai/gpt-4o", "mock".
       */
      pricedAs?: string;
    }
  | { cost: null; source?: undefined; reason: string };

export interface Pricing {
  /** Prices one call. Never throws; an unknown model gives `{ cost: null, reason }` and counts a warning. */
  cost(query: CostQuery): CostResult;
  /** Number of unknown-model warnings so far, by "provider/model". */
  unknownModelWarnings(): Record<string, number>;
  /** Optional: load the price sources now (start-up) instead of on the first call. */
  preload?(): void;
  /**
   * Optional (added for wildcard model groups and pre-call checks): what the LiteLLM price files (the
   * user's, then the bundled snapshot) say about a model: its context window and mode.
   */
  modelInfo?(provider: string, model: string): ModelInfo | undefined;
  /**
   * Optional (added for wildcard model groups): the models the LiteLLM price files list for a
   * provider, without the prefix ("gpt-4o"), for one mode (default "chat").
   */
  listModels?(provider: string, mode?: string): string[];
}

/** What a price file says about a model besides its prices. */
export interface ModelInfo {
  maxInputTokens?: number;
  maxOutputTokens?: number;
  mode?: string;
}

/** Where warnings go (the host's logger; defaults to console.warn). */
export interface PricingLogger {
  warn(message: string, fields?: object): void;
}

export interface PricingOptions {
  /**
   * A LiteLLM-format price file (a path to model_prices_and_context_window.json, or its parsed object).
   * Its entries win over genai-prices and the bundled snapshot. Read once, when `createPricing` runs;
   * an unreadable file throws there.
   */
  priceFile?: string | Record<string, unknown>;
  /** Use the bundled LiteLLM snapshot as the last source (default true). */
  useBundled?: boolean;
  /** Use @pydantic/genai-prices (default true). */
  useGenaiPrices?: boolean;
  /** Where unknown-model warnings go (default: console.warn). */
  logger?: PricingLogger;
  /** An unknown model is logged once, then at most once per this interval (default 1 hour). */
  unknownModelWarningIntervalMs?: number;
}

/** OpenAI usage (chat completions, embeddings, and the Responses API's field names). */
export interface OpenAIUsageLike {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  total_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** Responses API names. */
  input_tokens?: number | null;
  output_tokens?: number | null;
  input_tokens_details?: { cached_tokens?: number | null } | null;
  output_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** OpenAI-compatible servers that pass through Anthropic-style cache counts (LiteLLM, some routers). */
  cache_creation_input_tokens?: number | null;
  /** DeepSeek's name for cached prompt tokens. */
  prompt_cache_hit_tokens?: number | null;
}

/** Anthropic Messages usage (input_tokens excludes both cache counts). */
export interface AnthropicUsageLike {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: {
    ephemeral_5m_input_tokens?: number | null;
    ephemeral_1h_input_tokens?: number | null;
  } | null;
}

/** Bedrock Converse / ConverseStream `usage` (inputTokens excludes both cache counts). */
export interface BedrockUsageLike {
  inputTokens?: number | null;
  outputTokens?: number | null;
  totalTokens?: number | null;
  cacheReadInputTokens?: number | null;
  cacheWriteInputTokens?: number | null;
}

/** The counters of an Ollama /api/chat, /api/generate or /api/embed response. */
export interface OllamaResponseLike {
  prompt_eval_count?: number | null;
  eval_count?: number | null;
}
