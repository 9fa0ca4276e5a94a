// Run from packages/pricing after `npx tsup`:  node examples/cost.mjs
import {
  createPricing,
  priceOverrideFromLitellmParams,
  usageFromBedrock,
  usageFromOpenAI,
} from "@llmux/pricing";

const pricing = createPricing({
  logger: { warn: (message, fields) => console.warn("[pricing]", message, fields) },
});
pricing.preload(); // load genai-prices and the bundled snapshot at start-up, not on the first call

// An OpenAI response's usage block: 10,000 prompt tokens (4,000 cached), 500 completion tokens.
const openai = pricing.cost({
  provider: "openai",
  model: "gpt-4o",
  usage: usageFromOpenAI({
    prompt_tokens: 10_000,
    completion_tokens: 500,
    prompt_tokens_details: { cached_tokens: 4_000 },
  }),
});
console.log("gpt-4o:", openai.cost, openai.source, openai.pricedAs);
// → total 0.025 = 6,000 × $2.50/M + 4,000 × $1.25/M + 500 × $10/M

// A Bedrock deployment as written in litellm_config.yaml, with a negotiated price override.
const litellmParams = {
  model: "bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
  aws_region_name: "us-east-1",
  input_cost_per_token: 0.0000027,
  cache_read_input_token_cost: 0.00000027,
};
const [provider, ...rest] = litellmParams.model.split("/");
const bedrock = pricing.cost({
  provider,
  model: rest.join("/"),
  override: priceOverrideFromLitellmParams(litellmParams),
  // Converse's usage: inputTokens counts only the uncached prompt tokens.
  usage: usageFromBedrock({ inputTokens: 100, cacheReadInputTokens: 20_000, outputTokens: 1_000 }),
});
console.log("bedrock claude:", bedrock.cost, bedrock.source, bedrock.pricedAs);
// → 100 × $2.70/M + 20,000 × $0.27/M (overridden) + 1,000 × $15/M (listed price) = 0.02067

// A model no source knows: cost null, a reason, one warning, a counter.
const unknown = pricing.cost({
  provider: "openai",
  model: "my-private-finetune",
  usage: usageFromOpenAI({ prompt_tokens: 10, completion_tokens: 5 }),
});
console.log("unknown:", unknown, pricing.unknownModelWarnings());
