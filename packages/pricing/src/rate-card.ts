import { add, type Decimal, decimalFromNumber, multiply, sum, toNumber, ZERO } from "./decimal.js";
import type { CostBreakdown, Usage } from "./types.js";

/**
 * The rates that price one call, in USD per token (per call for `perRequest`), after the long-context
 * tier for this call's input size has been chosen. Built from a LiteLLM entry, a genai-prices model
 * or a per-deployment override; a `PartialRateCard` is what an override or a source supplies.
 */
export interface RateCard {
  input: Decimal;
  output: Decimal;
  /** Cache-read rate; absent: the input rate. */
  cacheRead?: Decimal;
  /** Cache-write rate; absent: the input rate. */
  cacheCreation?: Decimal;
  /** 1-hour cache-write rate; absent: the cache-write rate. */
  cacheCreation1h?: Decimal;
  /** Reasoning-token rate; absent: the output rate. */
  reasoning?: Decimal;
  /** A per-call charge. */
  perRequest?: Decimal;
}

export type PartialRateCard = Partial<RateCard>;

export const RATE_FIELDS = [
  "input",
  "output",
  "cacheRead",
  "cacheCreation",
  "cacheCreation1h",
  "reasoning",
  "perRequest",
] as const satisfies readonly (keyof RateCard)[];

export const FREE_RATES: RateCard = { input: ZERO, output: ZERO };

/**
 * Rates that default to another one when absent (cache rates to the input rate, the 1-hour write rate
 * to the write rate, the reasoning rate to the output rate).
 */
const DEPENDENT_RATES: Partial<Record<keyof RateCard, (keyof RateCard)[]>> = {
  input: ["cacheRead", "cacheCreation", "cacheCreation1h"],
  cacheCreation: ["cacheCreation1h"],
  output: ["reasoning"],
};

/**
 * An override (`over`) merged onto a source's rates (`under`): the override's rates win and the
 * missing ones come from the source, except that a rate the override sets carries its dependents
 * with it. Overriding `input_cost_per_token` alone prices cache reads and writes at that rate (as
 * LiteLLM's custom pricing does) instead of at the source's list cache rates, which could then exceed
 * the overridden input rate; overriding `output_cost_per_token` alone does the same for reasoning.
 */
export function mergeRates(over: PartialRateCard, under: PartialRateCard): PartialRateCard {
  const merged: PartialRateCard = { ...under };
  for (const field of RATE_FIELDS) {
    if (over[field] === undefined) continue;
    for (const dependent of DEPENDENT_RATES[field] ?? []) delete merged[dependent];
  }
  for (const field of RATE_FIELDS) {
    const value = over[field];
    if (value !== undefined) merged[field] = value;
  }
  return merged;
}

/** Usage counts as exact decimals, made consistent (parts never exceed their whole). */
interface TokenCounts {
  uncachedInput: Decimal;
  cacheRead: Decimal;
  cacheCreation5m: Decimal;
  cacheCreation1h: Decimal;
  textOutput: Decimal;
  reasoning: Decimal;
}

function tokenCounts(usage: Usage, inputOnly: boolean): TokenCounts {
  const input = usage.inputTokens;
  const cacheRead = Math.min(usage.cachedInputTokens, input);
  const cacheCreation = Math.min(usage.cacheCreationInputTokens, input - cacheRead);
  const cacheCreation1h = Math.min(usage.cacheCreation1hInputTokens ?? 0, cacheCreation);
  const output = inputOnly ? 0 : usage.outputTokens;
  const reasoning = Math.min(usage.reasoningTokens, output);
  return {
    uncachedInput: decimalFromNumber(input - cacheRead - cacheCreation, "uncached input tokens"),
    cacheRead: decimalFromNumber(cacheRead, "cachedInputTokens"),
    cacheCreation5m: decimalFromNumber(cacheCreation - cacheCreation1h, "cacheCreationInputTokens"),
    cacheCreation1h: decimalFromNumber(cacheCreation1h, "cacheCreation1hInputTokens"),
    textOutput: decimalFromNumber(output - reasoning, "outputTokens"),
    reasoning: decimalFromNumber(reasoning, "reasoningTokens"),
  };
}

/**
 * SPEC §5: uncached input × input rate + cache reads × cache-read rate + cache writes × cache-write
 * rate + output × output rate (reasoning tokens at the reasoning rate where one exists). Exact decimal
 * arithmetic; each figure becomes a number once, at the end.
 */
export function computeCost(rates: RateCard, usage: Usage, inputOnly: boolean): CostBreakdown {
  const counts = tokenCounts(usage, inputOnly);
  const cacheReadRate = rates.cacheRead ?? rates.input;
  const cacheCreationRate = rates.cacheCreation ?? rates.input;
  const cacheCreation1hRate = rates.cacheCreation1h ?? cacheCreationRate;
  const reasoningRate = rates.reasoning ?? rates.output;

  const input = multiply(counts.uncachedInput, rates.input);
  const cacheRead = multiply(counts.cacheRead, cacheReadRate);
  const cacheCreation = add(
    multiply(counts.cacheCreation5m, cacheCreationRate),
    multiply(counts.cacheCreation1h, cacheCreation1hRate),
  );
  const output = add(multiply(counts.textOutput, rates.output), multiply(counts.reasoning, reasoningRate));
  const request = rates.perRequest;
  const total = sum(
    request ? [input, cacheRead, cacheCreation, output, request] : [input, cacheRead, cacheCreation, output],
  );

  const breakdown: CostBreakdown = {
    input: toNumber(input),
    output: toNumber(output),
    cacheRead: toNumber(cacheRead),
    cacheCreation: toNumber(cacheCreation),
    total: toNumber(total),
    currency: "USD",
  };
  if (request) breakdown.request = toNumber(request);
  return breakdown;
}
