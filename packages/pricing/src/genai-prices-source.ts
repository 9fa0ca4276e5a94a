import { createRequire } from "node:module";
import type * as GenaiPrices from "@pydantic/genai-prices";
import { type Decimal, decimalFromNumber, divideByPowerOfTen } from "./decimal.js";
import { modelNameCandidates } from "./model-names.js";
import type { PartialRateCard, RateCard } from "./rate-card.js";

type GenaiModule = typeof GenaiPrices;

let genai: GenaiModule | undefined;

/**
 * @pydantic/genai-prices holds its whole price catalogue in code (~0.8 MB, ~50 ms to load), so it is
 * loaded on first use (or `preload()`), not when @llmux/pricing is imported.
 */
export function loadGenaiPrices(): GenaiModule {
  genai ??= createRequire(import.meta.url)("@pydantic/genai-prices") as GenaiModule;
  return genai;
}

/** LiteLLM provider names genai-prices does not recognise by itself (its provider_match covers most). */
const PROVIDER_ALIASES: Record<string, string> = {
  fireworks_ai: "fireworks",
};

/** genai-prices price keys per rate, with the power of ten their unit is counted in. */
const PRICE_KEYS: [keyof RateCard, string, number][] = [
  ["input", "input_mtok", 6],
  ["output", "output_mtok", 6],
  ["cacheRead", "cache_read_mtok", 6],
  ["cacheCreation", "cache_write_mtok", 6],
  ["cacheCreation1h", "cache_write_1h_mtok", 6],
  ["reasoning", "output_reasoning_mtok", 6],
  ["perRequest", "requests_kcount", 3],
];

/**
 * A genai-prices price value for a call with `inputTokens` prompt tokens. Tiered prices follow
 * genai-prices' own rule: the base price, replaced by each tier whose `start` the call's total input
 * exceeds, applied to all tokens of the call.
 */
function priceAt(value: GenaiPrices.ModelPrice[string], inputTokens: number): number | undefined {
  if (typeof value === "number") return value;
  if (!value || typeof value !== "object") return undefined;
  let price = value.base;
  for (const tier of [...value.tiers].sort((a, b) => a.start - b.start)) {
    if (inputTokens > tier.start) price = tier.price;
  }
  return price;
}

export interface GenaiMatch {
  /** The model's prices in force now (tiers not yet chosen). */
  modelPrice: GenaiPrices.ModelPrice;
  /** "provider/model" as genai-prices names them, e.g. "openai/gpt-4o". */
  pricedAs: string;
}

/**
 * Finds `provider`/`model` in genai-prices: the provider by its id or provider_match (never guessed
 * from the model name, so an Ollama "llama3" is not priced as a hosted Llama), the model by
 * genai-prices' match rules, and the price in force now (genai-prices' date- and time-of-day-
 * constrained prices) from `calcPrice`'s `model_price`.
 */
export function genaiPricesMatch(provider: string, model: string): GenaiMatch | undefined {
  const module = loadGenaiPrices();
  const providerId = PROVIDER_ALIASES[provider.toLowerCase()] ?? provider;
  const found = module.findProvider({ providerId });
  if (!found) return undefined;
  for (const name of modelNameCandidates(provider, model)) {
    let result: GenaiPrices.PriceCalculationResult;
    try {
      result = module.calcPrice({}, name, { providerId: found.id });
    } catch {
      // A catalogue entry genai-prices itself cannot evaluate: let the next source price the call.
      continue;
    }
    if (!result) continue;
    const { input_mtok: input, output_mtok: output } = result.model_price;
    if (input === undefined && output === undefined) continue;
    return { modelPrice: result.model_price, pricedAs: `${result.provider.id}/${result.model.id}` };
  }
  return undefined;
}

/** The rates of a genai-prices model price for a call with `inputTokens` prompt tokens. */
export function genaiRates(modelPrice: GenaiPrices.ModelPrice, inputTokens: number): PartialRateCard {
  const known = flatRates.get(modelPrice);
  if (known) return known;
  const rates = readRates(modelPrice, inputTokens);
  // Rates without tiers do not depend on the call: read once per model price (read-only from here on).
  if (PRICE_KEYS.every(([, key]) => typeof modelPrice[key] !== "object" || modelPrice[key] === null))
    flatRates.set(modelPrice, rates);
  return rates;
}

/** The rates of model prices that have no tiers, by model price. */
const flatRates = new WeakMap<GenaiPrices.ModelPrice, PartialRateCard>();

function readRates(modelPrice: GenaiPrices.ModelPrice, inputTokens: number): PartialRateCard {
  const rates: PartialRateCard = {};
  for (const [field, key, digits] of PRICE_KEYS) {
    const price = priceAt(modelPrice[key], inputTokens);
    if (price === undefined) continue;
    const rate: Decimal = divideByPowerOfTen(decimalFromNumber(price, `genai-prices ${key}`), digits);
    rates[field] = rate;
  }
  return rates;
}
