/**
 * @llmux/pricing: the exact cost of an LLM call from its normalised usage.
 * Prices come from a per-deployment override, a user LiteLLM-format price file, @pydantic/genai-prices
 * and a bundled LiteLLM snapshot, in that order.
 */
export { BUNDLED_LITELLM_SNAPSHOT, bundledPriceFilePath } from "./bundled-prices.js";
export { createPricing } from "./create-pricing.js";
export { priceOverrideFromLitellmParams } from "./litellm-rates.js";
export { PricingConfigError } from "./pricing-config-error.js";
export type {
  AnthropicUsageLike,
  BedrockUsageLike,
  CostBreakdown,
  CostQuery,
  CostResult,
  ModelInfo,
  OllamaResponseLike,
  OpenAIUsageLike,
  PriceOverride,
  Pricing,
  PricingLogger,
  PricingOptions,
  Usage,
} from "./types.js";
export {
  makeUsage,
  usageFromAnthropic,
  usageFromBedrock,
  usageFromOllama,
  usageFromOpenAI,
} from "./usage-normalisers.js";
