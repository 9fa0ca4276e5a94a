import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUNDLED_LITELLM_SNAPSHOT, bundledPriceFilePath } from "./bundled-prices.js";
import { toNumber } from "./decimal.js";
import { LitellmPriceTable } from "./litellm-price-table.js";
import { isReadKey, litellmRates, priceOverrideFromLitellmParams } from "./litellm-rates.js";
import { modelNameCandidates, providerRoot } from "./model-names.js";

describe("priceOverrideFromLitellmParams", () => {
  it("keeps the LiteLLM cost keys of a deployment's litellm_params and nothing else", () => {
    // litellm_params as written in a litellm_config.yaml (one price quoted, as YAML users sometimes do).
    const override = priceOverrideFromLitellmParams({
      model: "openai/gpt-4o",
      api_key: "os.environ/OPENAI_API_KEY",
      rpm: 600,
      input_cost_per_token: 0.0000025,
      output_cost_per_token: "0.00001",
      output_cost_per_token_above_200k_tokens: 0.00002,
      cache_read_input_token_cost: 0.00000125,
    });
    expect(override).toEqual({
      input_cost_per_token: 0.0000025,
      output_cost_per_token: 0.00001,
      output_cost_per_token_above_200k_tokens: 0.00002,
      cache_read_input_token_cost: 0.00000125,
    });
    expect(priceOverrideFromLitellmParams({ model: "openai/gpt-4o" })).toBeUndefined();
  });
});

describe("litellmRates", () => {
  it("applies the highest exceeded _above_Nk_tokens tier, keeping lower-tier rates the top tier lacks", () => {
    const entry = {
      input_cost_per_token: 1e-6,
      output_cost_per_token: 2e-6,
      input_cost_per_token_above_128k_tokens: 3e-6,
      output_cost_per_token_above_128k_tokens: 4e-6,
      input_cost_per_token_above_200k_tokens: 5e-6,
    };
    const rate = (rates: ReturnType<typeof litellmRates>, field: "input" | "output") =>
      rates[field] === undefined ? undefined : toNumber(rates[field]);
    const small = litellmRates(entry, 128_000);
    expect([rate(small, "input"), rate(small, "output")]).toEqual([1e-6, 2e-6]);
    const middle = litellmRates(entry, 150_000);
    expect([rate(middle, "input"), rate(middle, "output")]).toEqual([3e-6, 4e-6]);
    const large = litellmRates(entry, 250_000);
    expect([rate(large, "input"), rate(large, "output")]).toEqual([5e-6, 4e-6]);
  });

  it("ignores service-tier variants (_priority, _flex, _batches)", () => {
    const rates = litellmRates({ input_cost_per_token: 1e-6, input_cost_per_token_priority: 9e-6 }, 10);
    expect(toNumber(rates.input!)).toBe(1e-6);
  });
});

describe("model names as LiteLLM users write them", () => {
  it("maps provider names to their family", () => {
    expect(providerRoot("vertex_ai-language-models")).toBe("vertex_ai");
    expect(providerRoot("bedrock_converse")).toBe("bedrock");
    expect(providerRoot("ollama_chat")).toBe("ollama");
    expect(providerRoot("openai")).toBe("openai");
  });

  it("drops repeated prefixes, Bedrock routes and geographies, Ollama tags", () => {
    expect(modelNameCandidates("openai", "openai/gpt-4o")).toEqual(["gpt-4o"]);
    expect(
      modelNameCandidates("bedrock", "bedrock/converse/us-gov.anthropic.claude-3-haiku-20240307-v1:0"),
    ).toEqual(["us-gov.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"]);
    expect(modelNameCandidates("ollama", "llama3:latest")).toEqual(["llama3:latest", "llama3"]);
    expect(modelNameCandidates("ollama", "gpt-oss:20b-cloud")).toEqual(["gpt-oss:20b-cloud"]);
  });
});

describe("the bundled LiteLLM snapshot", () => {
  it("ships in data/ and is listed in package.json files", () => {
    const path = bundledPriceFilePath();
    expect(path.endsWith(`litellm_model_prices_${BUNDLED_LITELLM_SNAPSHOT}.json`)).toBe(true);
    expect(existsSync(path)).toBe(true);
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8"),
    ) as { files: string[] };
    expect(manifest.files).toContain("data");
  });
});

describe("the keys a price table keeps of each entry", () => {
  it("keeps the rates, their long-context tiers and the descriptive keys, drops the rest", () => {
    for (const key of [
      "input_cost_per_token",
      "cache_creation_input_token_cost_above_1hr",
      "output_cost_per_token_above_200k_tokens",
      "cache_read_input_token_cost_above_272k_tokens",
      "input_cost_per_token_cache_hit",
      "tiered_pricing",
      "litellm_provider",
      "mode",
      "max_input_tokens",
      "max_tokens",
      "max_output_tokens",
    ])
      expect(isReadKey(key), key).toBe(true);
    for (const key of [
      "supports_vision",
      "source",
      "supported_endpoints",
      "input_cost_per_image_above_128k_tokens",
    ])
      expect(isReadKey(key), key).toBe(false);
  });

  it("prices every bundled entry exactly as its whole LiteLLM entry does, at every tier", () => {
    // the snapshot as LiteLLM ships it, and the table built from it (which keeps only the read keys)
    const whole = JSON.parse(readFileSync(bundledPriceFilePath(), "utf8")) as Record<
      string,
      Record<string, unknown>
    >;
    const table = new LitellmPriceTable(whole);
    expect(table.size).toBeGreaterThan(2000);
    const compared = new Set<string>();
    for (const [name, candidate] of Object.entries(whole)) {
      const found = table.find(String(candidate.litellm_provider ?? ""), name);
      if (!found || compared.has(found.key)) continue;
      const entry = whole[found.key] as Record<string, unknown>;
      for (const inputTokens of [1_000, 150_000, 250_000, 300_000, 600_000]) {
        const expected = litellmRates(entry, inputTokens);
        const actual = litellmRates(found.entry, inputTokens);
        expect(Object.keys(actual).sort(), found.key).toEqual(Object.keys(expected).sort());
        for (const field of Object.keys(expected) as (keyof typeof expected)[])
          expect(toNumber(actual[field]!), `${found.key} ${field} at ${inputTokens}`).toBe(
            toNumber(expected[field]!),
          );
      }
      for (const info of ["mode", "litellm_provider", "max_input_tokens", "max_tokens", "max_output_tokens"])
        expect(found.entry[info], `${found.key} ${info}`).toEqual(entry[info]);
      expect(Object.keys(found.entry).length).toBeLessThanOrEqual(Object.keys(entry).length);
      compared.add(found.key);
    }
    expect(compared.size).toBeGreaterThan(2000);
  });
});
