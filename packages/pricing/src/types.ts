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
  /** Sum of the four. */
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
}

/** The priced result: a breakdown, or null with the reason it could not be priced. */
export type CostResult =
  | { cost: CostBreakdown; source: "override" | "litellm-file" | "genai-prices" | "free"; reason?: undefined }
  | { cost: null; source?: undefined; reason: string };

export interface Pricing {
  /** Prices one call. Never throws; an unknown model gives `{ cost: null, reason }` and counts a warning. */
  cost(query: CostQuery): CostResult;
  /** Number of unknown-model warnings so far, by "provider/model". */
  unknownModelWarnings(): Record<string, number>;
}
