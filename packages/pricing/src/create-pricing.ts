import type { ModelPrice } from "@pydantic/genai-prices";
import { bundledLitellmTable } from "./bundled-prices.js";
import { ZERO } from "./decimal.js";
import { genaiPricesMatch, genaiRates, loadGenaiPrices } from "./genai-prices-source.js";
import { LitellmPriceTable } from "./litellm-price-table.js";
import { isEmbeddingEntry, litellmRates } from "./litellm-rates.js";
import {
  computeCost,
  FREE_RATES,
  mergeRates,
  type PartialRateCard,
  RATE_FIELDS,
  type RateCard,
} from "./rate-card.js";
import type {
  CostQuery,
  CostResult,
  ModelInfo,
  Pricing,
  PricingLogger,
  PricingOptions,
  Usage,
} from "./types.js";
import { UnknownModelWarnings } from "./unknown-model-warnings.js";

const HOUR_MS = 60 * 60 * 1000;
const FREE_PROVIDERS = new Set(["mock"]);
const USAGE_FIELDS = [
  "inputTokens",
  "cachedInputTokens",
  "cacheCreationInputTokens",
  "outputTokens",
  "reasoningTokens",
] as const satisfies readonly (keyof Usage)[];

type SourceName = "litellm-file" | "genai-prices" | "free";

/** A model found in a price source, before this call's tier is chosen. */
type FoundPrice =
  | { kind: "litellm"; entry: Record<string, unknown>; pricedAs: string }
  | { kind: "genai"; modelPrice: ModelPrice; pricedAs: string }
  | { kind: "free"; pricedAs: string };

/** What a price source gave for one call, its tier already chosen. */
interface SourcePrice {
  rates: PartialRateCard;
  source: SourceName;
  pricedAs: string;
  inputOnly: boolean;
}

/** Lookups are remembered per provider/model for this long (genai-prices prices can change by date). */
const LOOKUP_TTL_MS = 60_000;
/** At most this many remembered lookups (cleared when full; model names come from configuration). */
const LOOKUP_CACHE_SIZE = 2_000;

function ratesFor(found: FoundPrice, inputTokens: number): SourcePrice {
  switch (found.kind) {
    case "litellm":
      return {
        rates: litellmRates(found.entry, inputTokens),
        source: "litellm-file",
        pricedAs: found.pricedAs,
        inputOnly: isEmbeddingEntry(found.entry),
      };
    case "genai":
      return {
        rates: genaiRates(found.modelPrice, inputTokens),
        source: "genai-prices",
        pricedAs: found.pricedAs,
        inputOnly: false,
      };
    case "free":
      return { rates: FREE_RATES, source: "free", pricedAs: found.pricedAs, inputOnly: false };
  }
}

const defaultLogger: PricingLogger = {
  warn(message, fields) {
    console.warn(message, fields ?? "");
  },
};

function invalidUsage(usage: Usage | undefined): string | undefined {
  if (!usage || typeof usage !== "object") return "usage is missing";
  for (const field of USAGE_FIELDS) {
    const value = usage[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      return `usage.${field} must be a finite non-negative number, got ${String(value)}`;
    }
  }
  return undefined;
}

function hasAnyRate(rates: PartialRateCard): boolean {
  return RATE_FIELDS.some((field) => rates[field] !== undefined);
}

/**
 * Prices calls from, in order: the deployment's override (LiteLLM keys), the user's LiteLLM-format
 * price file, @pydantic/genai-prices, then the bundled LiteLLM snapshot. A partial override takes
 * its missing rates from the first source that knows the model.
 */
export function createPricing(options: PricingOptions = {}): Pricing {
  const logger = options.logger ?? defaultLogger;
  const userTable: LitellmPriceTable | undefined =
    options.priceFile === undefined
      ? undefined
      : LitellmPriceTable.from(options.priceFile, "llmux pricing priceFile");
  const useBundled = options.useBundled ?? true;
  const useGenaiPrices = options.useGenaiPrices ?? true;
  const warnings = new UnknownModelWarnings(logger, options.unknownModelWarningIntervalMs ?? HOUR_MS);
  let bundledFailureLogged = false;

  function bundledTable(): LitellmPriceTable | undefined {
    if (!useBundled) return undefined;
    const table = bundledLitellmTable();
    if (table instanceof Error) {
      if (!bundledFailureLogged) {
        bundledFailureLogged = true;
        logger.warn(`llmux pricing: bundled LiteLLM prices unavailable: ${table.message}`);
      }
      return undefined;
    }
    return table;
  }

  function fromTable(
    table: LitellmPriceTable | undefined,
    label: string,
    provider: string,
    model: string,
  ): FoundPrice | undefined {
    const match = table?.find(provider, model);
    return match ? { kind: "litellm", entry: match.entry, pricedAs: `${label}:${match.key}` } : undefined;
  }

  /** The first source that has provider/model, in the documented order. */
  function find(provider: string, model: string): FoundPrice | undefined {
    if (FREE_PROVIDERS.has(provider.toLowerCase())) return { kind: "free", pricedAs: provider.toLowerCase() };
    const fromUserFile = fromTable(userTable, "user-file", provider, model);
    if (fromUserFile) return fromUserFile;
    if (useGenaiPrices) {
      const match = genaiPricesMatch(provider, model);
      if (match)
        return { kind: "genai", modelPrice: match.modelPrice, pricedAs: `genai-prices:${match.pricedAs}` };
    }
    return fromTable(bundledTable(), "bundled-litellm", provider, model);
  }

  const lookups = new Map<string, { found: FoundPrice | undefined; expiresAt: number }>();

  function lookup(provider: string, model: string, inputTokens: number): SourcePrice | undefined {
    const key = `${provider}\u0000${model}`;
    const now = Date.now();
    let remembered = lookups.get(key);
    if (!remembered || remembered.expiresAt <= now) {
      if (lookups.size >= LOOKUP_CACHE_SIZE) lookups.clear();
      remembered = { found: find(provider, model), expiresAt: now + LOOKUP_TTL_MS };
      lookups.set(key, remembered);
    }
    return remembered.found ? ratesFor(remembered.found, inputTokens) : undefined;
  }

  function cost(query: CostQuery): CostResult {
    let provider = String(query?.provider ?? "").trim();
    const requestedModel = String(query?.model ?? "").trim();
    let model = query?.baseModel ? String(query.baseModel).trim() : requestedModel;
    if (!provider && model.includes("/")) {
      // "openai/gpt-4o" with no provider given: the prefix is the provider, as in LiteLLM.
      provider = model.slice(0, model.indexOf("/"));
      model = model.slice(model.indexOf("/") + 1);
    }
    const usageProblem = invalidUsage(query?.usage);
    if (usageProblem) return { cost: null, reason: `invalid usage: ${usageProblem}` };
    const usage = query.usage;

    const override: PartialRateCard = query.override
      ? litellmRates(query.override as Record<string, unknown>, usage.inputTokens)
      : {};
    const found = lookup(provider, model, usage.inputTokens);
    const rates = mergeRates(override, found?.rates ?? {});
    const overridden = hasAnyRate(override);
    const inputOnly = query.callType === "embeddings" || (found?.inputOnly ?? false);

    if (!found) {
      // Only an override can price the call: it needs an input rate, and an output rate unless the
      // call bills input only.
      const missing: string[] = [];
      if (rates.input === undefined) missing.push("input_cost_per_token");
      if (rates.output === undefined && !inputOnly) missing.push("output_cost_per_token");
      if (!overridden || missing.length > 0) {
        const key = `${provider}/${model}`;
        const reason = overridden
          ? `no price for ${key} (the override lacks ${missing.join(", ")} and no price source has the model)`
          : `no price for ${key}`;
        warnings.record(key, reason, {
          provider,
          model,
          ...(query.baseModel ? { deployedModel: requestedModel } : {}),
        });
        return { cost: null, reason };
      }
    }

    // A price source that knows the model but lists no rate for a kind of token charges nothing for
    // it (an embedding model has no output price), as in LiteLLM and genai-prices.
    const complete: RateCard = { ...rates, input: rates.input ?? ZERO, output: rates.output ?? ZERO };
    const breakdown = computeCost(complete, usage, inputOnly);
    if (overridden) {
      return {
        cost: breakdown,
        source: "override",
        pricedAs: found ? `override+${found.pricedAs}` : "override",
      };
    }
    // found is defined here: without it, only an override reaches this point.
    const priced = found as SourcePrice;
    return { cost: breakdown, source: priced.source, pricedAs: priced.pricedAs };
  }

  return {
    cost(query: CostQuery): CostResult {
      try {
        return cost(query);
      } catch (error) {
        return { cost: null, reason: `pricing error: ${(error as Error)?.message ?? String(error)}` };
      }
    },
    unknownModelWarnings: () => warnings.snapshot(),
    modelInfo(provider: string, model: string): ModelInfo | undefined {
      const match = userTable?.find(provider, model) ?? bundledTable()?.find(provider, model);
      if (!match) return undefined;
      const info: ModelInfo = {};
      const maxInput = match.entry["max_input_tokens"] ?? match.entry["max_tokens"];
      if (typeof maxInput === "number" && maxInput > 0) info.maxInputTokens = maxInput;
      const maxOutput = match.entry["max_output_tokens"];
      if (typeof maxOutput === "number" && maxOutput > 0) info.maxOutputTokens = maxOutput;
      if (typeof match.entry["mode"] === "string") info.mode = match.entry["mode"];
      return info;
    },
    listModels(provider: string, mode = "chat"): string[] {
      const names = new Set<string>(userTable?.modelsOf(provider, mode) ?? []);
      for (const name of bundledTable()?.modelsOf(provider, mode) ?? []) names.add(name);
      return [...names].sort();
    },
    preload(): void {
      if (useGenaiPrices) loadGenaiPrices();
      bundledTable();
    },
  };
}
