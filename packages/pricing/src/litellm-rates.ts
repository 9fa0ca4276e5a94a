import { type Decimal, decimalFromNumber } from "./decimal.js";
import type { PartialRateCard, RateCard } from "./rate-card.js";
import type { PriceOverride } from "./types.js";

/** LiteLLM's keys for each rate (USD per token; per call for input_cost_per_request). */
const LITELLM_KEYS = {
  input: "input_cost_per_token",
  output: "output_cost_per_token",
  cacheRead: "cache_read_input_token_cost",
  cacheCreation: "cache_creation_input_token_cost",
  cacheCreation1h: "cache_creation_input_token_cost_above_1hr",
  reasoning: "output_cost_per_reasoning_token",
  perRequest: "input_cost_per_request",
} as const satisfies Record<keyof RateCard, string>;

type RateField = keyof typeof LITELLM_KEYS;
const FIELDS = Object.keys(LITELLM_KEYS) as RateField[];
const FIELD_BY_KEY = new Map<string, RateField>(FIELDS.map((field) => [LITELLM_KEYS[field], field]));

/** "input_cost_per_token_above_200k_tokens" → base key + threshold 200 000 tokens. */
const TIER_KEY = /^(.+)_above_(\d+)k_tokens$/;

/** A LiteLLM `tiered_pricing` band: the rates for calls whose input falls in `range`. */
interface TieredPricingBand {
  range: [number, number];
  [key: string]: unknown;
}

function readRate(entry: Record<string, unknown>, key: string): Decimal | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) {
    return decimalFromNumber(Number(value), key);
  }
  if (typeof value !== "number") throw new TypeError(`${key} must be a number, got ${typeof value}`);
  return decimalFromNumber(value, key);
}

function tieredPricingBands(entry: Record<string, unknown>): TieredPricingBand[] {
  const bands = entry["tiered_pricing"];
  if (!Array.isArray(bands)) return [];
  return bands.filter(
    (band): band is TieredPricingBand =>
      typeof band === "object" &&
      band !== null &&
      Array.isArray((band as { range?: unknown }).range) &&
      (band as { range: unknown[] }).range.every((edge) => typeof edge === "number"),
  );
}

/**
 * The rates a LiteLLM-format entry (a price-file entry or a per-deployment override) gives a call
 * with `inputTokens` prompt tokens. Long-context tiers follow LiteLLM: every `<key>_above_<N>k_tokens`
 * whose threshold N×1000 the call's input exceeds replaces `<key>` for all tokens of the call (the
 * highest such tier wins; a rate without a key at that tier keeps the lower tier's value). A
 * `tiered_pricing` band list chooses the band whose range holds the input size. Only the rates the
 * entry has are returned.
 */
export function litellmRates(entry: Record<string, unknown>, inputTokens: number): PartialRateCard {
  const rates: PartialRateCard = {};
  for (const field of FIELDS) {
    const rate = readRate(entry, LITELLM_KEYS[field]);
    if (rate !== undefined) rates[field] = rate;
  }
  if (rates.cacheRead === undefined) {
    // DeepSeek's entries name their cache-hit price this way.
    const cacheHit = readRate(entry, "input_cost_per_token_cache_hit");
    if (cacheHit !== undefined) rates.cacheRead = cacheHit;
  }

  const thresholds = new Map<number, [RateField, string][]>();
  for (const key of Object.keys(entry)) {
    const match = TIER_KEY.exec(key);
    if (!match) continue;
    const field = FIELD_BY_KEY.get(match[1] ?? "");
    if (!field) continue;
    const threshold = Number(match[2]) * 1000;
    const keys = thresholds.get(threshold) ?? [];
    keys.push([field, key]);
    thresholds.set(threshold, keys);
  }
  for (const threshold of [...thresholds.keys()].sort((a, b) => a - b)) {
    if (!(inputTokens > threshold)) break;
    for (const [field, key] of thresholds.get(threshold) ?? []) {
      const rate = readRate(entry, key);
      if (rate !== undefined) rates[field] = rate;
    }
  }

  const bands = tieredPricingBands(entry);
  if (bands.length > 0) {
    const sorted = [...bands].sort((a, b) => a.range[0] - b.range[0]);
    const band =
      sorted.find((candidate) => inputTokens >= candidate.range[0] && inputTokens < candidate.range[1]) ??
      (inputTokens < (sorted[0]?.range[0] ?? 0) ? sorted[0] : sorted[sorted.length - 1]);
    if (band) {
      for (const field of FIELDS) {
        const rate = readRate(band, LITELLM_KEYS[field]);
        if (rate !== undefined) rates[field] = rate;
      }
    }
  }
  return rates;
}

/** True when a price-file entry prices tokens (has an input or output token rate, or token bands). */
export function pricesTokens(entry: Record<string, unknown>): boolean {
  const hasRate = (key: string) => typeof entry[key] === "number";
  return hasRate(LITELLM_KEYS.input) || hasRate(LITELLM_KEYS.output) || tieredPricingBands(entry).length > 0;
}

/** Keys of a price-file entry read besides its rates (modelInfo, listModels, the family check). */
const DESCRIPTIVE_KEYS = new Set([
  "litellm_provider",
  "mode",
  "max_input_tokens",
  "max_tokens",
  "max_output_tokens",
  "tiered_pricing",
  "input_cost_per_token_cache_hit",
]);

/**
 * True for a key of a price-file entry that pricing reads: a rate (`LITELLM_KEYS`), its
 * long-context tiers (`<rate key>_above_<N>k_tokens`), and the keys of DESCRIPTIVE_KEYS. The rest of
 * a LiteLLM entry (supports_*, source, supported_endpoints, ... most of the file) is never read.
 */
export function isReadKey(key: string): boolean {
  if (FIELD_BY_KEY.has(key) || DESCRIPTIVE_KEYS.has(key)) return true;
  const tier = TIER_KEY.exec(key);
  return tier !== null && FIELD_BY_KEY.has(tier[1] ?? "");
}

/** Embedding entries bill input only. */
export function isEmbeddingEntry(entry: Record<string, unknown>): boolean {
  return entry["mode"] === "embedding";
}

const COST_KEY = /(_cost_per_|_token_cost)/;

/**
 * The price keys of a deployment's `litellm_params` (any LiteLLM cost key holding a number or a
 * numeric string, e.g. `input_cost_per_token`, `output_cost_per_token_above_200k_tokens`), or
 * `undefined` when it has none. The core passes the result as `CostQuery.override`.
 */
export function priceOverrideFromLitellmParams(
  params: Record<string, unknown> | undefined | null,
): PriceOverride | undefined {
  if (!params || typeof params !== "object") return undefined;
  const override: Record<string, number> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!COST_KEY.test(key)) continue;
    const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof number === "number" && Number.isFinite(number) && number >= 0) override[key] = number;
  }
  return Object.keys(override).length > 0 ? (override as PriceOverride) : undefined;
}
