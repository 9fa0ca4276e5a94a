import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calcPrice } from "@pydantic/genai-prices";
import { describe, expect, it } from "vitest";
import { createPricing } from "./create-pricing.js";
import type { CostResult, PricingLogger, Usage } from "./types.js";
import { makeUsage, usageFromAnthropic, usageFromBedrock } from "./usage-normalisers.js";

/** A logger that records what it was asked to warn about. */
function recordingLogger(): PricingLogger & { messages: { message: string; fields?: object }[] } {
  const messages: { message: string; fields?: object }[] = [];
  return {
    messages,
    warn(message, fields) {
      messages.push({ message, fields });
    },
  };
}

function priced(result: CostResult) {
  if (result.cost === null) throw new Error(`expected a price, got null: ${result.reason}`);
  return result;
}

describe("OpenAI gpt-4o with cached prompt tokens", () => {
  // Sent: 10,000 prompt tokens of which 4,000 were read from OpenAI's cache, 500 completion tokens.
  // gpt-4o: $2.50/M input, $1.25/M cached input, $10/M output (genai-prices and the LiteLLM file agree).
  //   uncached 6,000 × 0.0000025  = 0.015
  //   cached   4,000 × 0.00000125 = 0.005
  //   output     500 × 0.00001    = 0.005
  //   total                        = 0.025
  const usage = makeUsage({ inputTokens: 10_000, cachedInputTokens: 4_000, outputTokens: 500 });

  it("is priced by genai-prices, the maintained source, with the split per bucket", () => {
    const result = priced(createPricing().cost({ provider: "openai", model: "gpt-4o", usage }));
    expect(result.source).toBe("genai-prices");
    expect(result.pricedAs).toBe("genai-prices:openai/gpt-4o");
    expect(result.cost).toEqual({
      input: 0.015,
      cacheRead: 0.005,
      cacheCreation: 0,
      output: 0.005,
      total: 0.025,
      currency: "USD",
    });
  });

  it("accepts the provider prefix repeated in the model name (openai/gpt-4o)", () => {
    const result = priced(createPricing().cost({ provider: "openai", model: "openai/gpt-4o", usage }));
    expect(result.cost.total).toBe(0.025);
  });

  it("gives the same figures from the bundled LiteLLM snapshot when genai-prices is off", () => {
    const result = priced(
      createPricing({ useGenaiPrices: false }).cost({ provider: "openai", model: "gpt-4o", usage }),
    );
    expect(result.source).toBe("litellm-file");
    expect(result.pricedAs).toBe("bundled-litellm:gpt-4o");
    expect(result.cost.total).toBe(0.025);
  });

  it("has no float drift: 1,000 in (200 cached) + 100 out is exactly 0.00325", () => {
    // 800 × 0.0000025 = 0.002; 200 × 0.00000125 = 0.00025; 100 × 0.00001 = 0.001; sum 0.00325.
    // genai-prices' own float arithmetic gives 0.0032500000000000003 for the same call.
    const small = makeUsage({ inputTokens: 1_000, cachedInputTokens: 200, outputTokens: 100 });
    const result = priced(createPricing().cost({ provider: "openai", model: "gpt-4o", usage: small }));
    expect(result.cost.total).toBe(0.00325);
    const genai = calcPrice({ input_tokens: 1_000, cache_read_tokens: 200, output_tokens: 100 }, "gpt-4o", {
      providerId: "openai",
    });
    expect(genai?.total_price).toBeCloseTo(0.00325, 15);
  });
});

describe("Anthropic with cache reads and writes", () => {
  it("prices claude-3-5-sonnet from Anthropic's usage block", () => {
    // Anthropic sent back: input_tokens 100 (uncached only), cache_read 20,000, cache_creation 5,000,
    // output 1,000. Rates (genai-prices): $3/M input, $0.30/M cache read, $3.75/M cache write, $15/M out.
    //   uncached   100 × 0.000003   = 0.0003
    //   read    20,000 × 0.0000003  = 0.006
    //   write    5,000 × 0.00000375 = 0.01875
    //   output   1,000 × 0.000015   = 0.015
    //   total                        = 0.04005
    const usage = usageFromAnthropic({
      input_tokens: 100,
      cache_read_input_tokens: 20_000,
      cache_creation_input_tokens: 5_000,
      output_tokens: 1_000,
    });
    expect(usage.inputTokens).toBe(25_100);
    const result = priced(
      createPricing().cost({ provider: "anthropic", model: "claude-3-5-sonnet-20241022", usage }),
    );
    expect(result.source).toBe("genai-prices");
    expect(result.cost).toEqual({
      input: 0.0003,
      cacheRead: 0.006,
      cacheCreation: 0.01875,
      output: 0.015,
      total: 0.04005,
      currency: "USD",
    });
  });

  it("prices 1-hour cache writes at their own rate (LiteLLM cache_creation_input_token_cost_above_1hr)", () => {
    // claude-sonnet-4-20250514 in the LiteLLM snapshot: cache write $3.75/M (5 min), $6/M (1 hour).
    // Sent: 0 uncached, 4,000 cache writes of which 1,000 with a 1-hour TTL, 10 output tokens.
    //   write 5m 3,000 × 0.00000375 = 0.01125
    //   write 1h 1,000 × 0.000006   = 0.006      → cacheCreation 0.01725
    //   output     10 × 0.000015    = 0.00015
    //   total                        = 0.0174
    const usage = usageFromAnthropic({
      input_tokens: 0,
      cache_creation_input_tokens: 4_000,
      cache_creation: { ephemeral_5m_input_tokens: 3_000, ephemeral_1h_input_tokens: 1_000 },
      output_tokens: 10,
    });
    const result = priced(
      createPricing({ useGenaiPrices: false }).cost({
        provider: "anthropic",
        model: "claude-sonnet-4-20250514",
        usage,
      }),
    );
    expect(result.pricedAs).toBe("bundled-litellm:claude-sonnet-4-20250514");
    expect(result.cost.cacheCreation).toBe(0.01725);
    expect(result.cost.total).toBe(0.0174);
  });
});

describe("long-context tiers", () => {
  it("applies genai-prices' 200k tier of gemini-2.5-pro to every token of the call", () => {
    // gemini-2.5-pro (genai-prices): input $1.25/M → $2.50/M above 200k; cache read $0.125/M → $0.25/M;
    // output $10/M → $15/M. Sent: 250,000 input tokens (50,000 cached), 2,000 output.
    //   uncached 200,000 × 0.0000025  = 0.5
    //   cached    50,000 × 0.00000025 = 0.0125
    //   output     2,000 × 0.000015   = 0.03
    //   total                         = 0.5425
    const usage = makeUsage({ inputTokens: 250_000, cachedInputTokens: 50_000, outputTokens: 2_000 });
    const result = priced(createPricing().cost({ provider: "gemini", model: "gemini-2.5-pro", usage }));
    expect(result.pricedAs).toBe("genai-prices:google/gemini-2.5-pro");
    expect(result.cost).toMatchObject({ input: 0.5, cacheRead: 0.0125, output: 0.03, total: 0.5425 });
    // genai-prices' own calculation of the same call agrees.
    const genai = calcPrice(
      { input_tokens: 250_000, cache_read_tokens: 50_000, output_tokens: 2_000 },
      "gemini-2.5-pro",
      { providerId: "google" },
    );
    expect(genai?.total_price).toBeCloseTo(0.5425, 12);
  });

  it("keeps base rates below the threshold (100,000 in, 50,000 cached, 2,000 out)", () => {
    //   50,000 × 0.00000125 = 0.0625; 50,000 × 0.000000125 = 0.00625; 2,000 × 0.00001 = 0.02 → 0.08875
    const usage = makeUsage({ inputTokens: 100_000, cachedInputTokens: 50_000, outputTokens: 2_000 });
    const result = priced(createPricing().cost({ provider: "vertex_ai", model: "gemini-2.5-pro", usage }));
    expect(result.cost.total).toBe(0.08875);
  });

  it("chooses the tier per call on one pricing (rates without tiers are read once and reused)", () => {
    const pricing = createPricing();
    const small = makeUsage({ inputTokens: 100_000, cachedInputTokens: 50_000, outputTokens: 2_000 });
    const large = makeUsage({ inputTokens: 250_000, cachedInputTokens: 50_000, outputTokens: 2_000 });
    const cost = (usage: Usage) =>
      priced(pricing.cost({ provider: "gemini", model: "gemini-2.5-pro", usage })).cost.total;
    expect([cost(small), cost(large), cost(small), cost(large)]).toEqual([0.08875, 0.5425, 0.08875, 0.5425]);
    // gpt-4o has no tiers: $2.50/M in, $10/M out, the same on every call.
    const flat = (inputTokens: number) =>
      priced(
        pricing.cost({
          provider: "openai",
          model: "gpt-4o",
          usage: makeUsage({ inputTokens, outputTokens: 1_000 }),
        }),
      ).cost.total;
    expect([flat(1_000), flat(300_000), flat(1_000)]).toEqual([0.0125, 0.76, 0.0125]);
  });

  it("applies LiteLLM's *_above_200k_tokens keys (claude-sonnet-4 in the bundled snapshot)", () => {
    // Above 200k: input $6/M, cache read $0.60/M, cache write $7.50/M, output $22.50/M.
    // Sent: 300,000 input (100,000 cache read, 50,000 cache write), 1,000 output.
    //   uncached 150,000 × 0.000006   = 0.9
    //   read     100,000 × 0.0000006  = 0.06
    //   write     50,000 × 0.0000075  = 0.375
    //   output     1,000 × 0.0000225  = 0.0225
    //   total                         = 1.3575
    const pricing = createPricing({ useGenaiPrices: false });
    const usage = makeUsage({
      inputTokens: 300_000,
      cachedInputTokens: 100_000,
      cacheCreationInputTokens: 50_000,
      outputTokens: 1_000,
    });
    const result = priced(pricing.cost({ provider: "anthropic", model: "claude-sonnet-4-20250514", usage }));
    expect(result.cost).toMatchObject({
      input: 0.9,
      cacheRead: 0.06,
      cacheCreation: 0.375,
      output: 0.0225,
      total: 1.3575,
    });
    // Exactly 200,000 input tokens does not exceed the threshold: 200,000 × 0.000003 = 0.6,
    // 1,000 × 0.000015 = 0.015 → 0.615.
    const atThreshold = makeUsage({ inputTokens: 200_000, outputTokens: 1_000 });
    const base = priced(
      pricing.cost({ provider: "anthropic", model: "claude-sonnet-4-20250514", usage: atThreshold }),
    );
    expect(base.cost.total).toBe(0.615);
  });

  it("chooses the LiteLLM tiered_pricing band that holds the input size (dashscope/qwen-flash)", () => {
    // Bands: [0, 256k) input $0.05/M output $0.40/M; [256k, 1M) input $0.25/M output $2/M.
    // Sent 300,000 in, 1,000 out: 300,000 × 0.00000025 = 0.075; 1,000 × 0.000002 = 0.002 → 0.077.
    const usage = makeUsage({ inputTokens: 300_000, outputTokens: 1_000 });
    const result = priced(createPricing().cost({ provider: "dashscope", model: "qwen-flash", usage }));
    expect(result.pricedAs).toBe("bundled-litellm:dashscope/qwen-flash");
    expect(result.cost.total).toBe(0.077);
  });
});

describe("reasoning tokens", () => {
  it("uses output_cost_per_reasoning_token where the file has one (dashscope/qwen-turbo)", () => {
    // qwen-turbo: input $0.05/M, output $0.20/M, reasoning $0.50/M. Sent 10,000 in, 3,000 out of
    // which 2,000 reasoning:
    //   input      10,000 × 0.00000005 = 0.0005
    //   text out    1,000 × 0.0000002  = 0.0002
    //   reasoning   2,000 × 0.0000005  = 0.001     → output 0.0012
    //   total                            = 0.0017
    const usage = makeUsage({ inputTokens: 10_000, outputTokens: 3_000, reasoningTokens: 2_000 });
    const result = priced(createPricing().cost({ provider: "dashscope", model: "qwen-turbo", usage }));
    expect(result.cost).toMatchObject({ input: 0.0005, output: 0.0012, total: 0.0017 });
  });

  it("bills reasoning at the output rate when the model has no reasoning rate (o3-mini)", () => {
    // o3-mini: input $1.10/M, output $4.40/M. Sent 1,000 in, 1,000 out (800 reasoning):
    //   1,000 × 0.0000011 = 0.0011; 1,000 × 0.0000044 = 0.0044 → 0.0055
    const usage = makeUsage({ inputTokens: 1_000, outputTokens: 1_000, reasoningTokens: 800 });
    const result = priced(createPricing().cost({ provider: "openai", model: "o3-mini", usage }));
    expect(result.cost).toMatchObject({ input: 0.0011, output: 0.0044, total: 0.0055 });
  });
});

describe("per-deployment overrides (LiteLLM keys)", () => {
  const usage = makeUsage({ inputTokens: 1_000, cachedInputTokens: 400, outputTokens: 100 });

  it("a full override wins over every source", () => {
    // Override: input $1/M, output $2/M, no cache-read rate → cache reads at the overridden input
    // rate (not at gpt-4o's $1.25/M list cache rate, which would exceed the overridden input rate).
    //   600 × 0.000001 = 0.0006; 400 × 0.000001 = 0.0004; 100 × 0.000002 = 0.0002 → 0.0012
    const result = priced(
      createPricing().cost({
        provider: "openai",
        model: "gpt-4o",
        usage,
        override: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
      }),
    );
    expect(result.source).toBe("override");
    expect(result.cost).toMatchObject({ input: 0.0006, cacheRead: 0.0004, output: 0.0002, total: 0.0012 });
  });

  it("a full override prices a model no source knows", () => {
    // 1,000 × 0.000001 + 100 × 0.000002 = 0.001 + 0.0002 = 0.0012 (no cache split: 400 cached at input)
    const pricing = createPricing();
    const result = priced(
      pricing.cost({
        provider: "openai",
        model: "my-private-finetune",
        usage,
        override: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
      }),
    );
    expect(result.pricedAs).toBe("override");
    expect(result.cost.total).toBe(0.0012);
    expect(pricing.unknownModelWarnings()).toEqual({});
  });

  it("a partial override takes the missing rates from the next source", () => {
    // Override output only ($20/M); input $2.50/M and cache read $1.25/M come from genai-prices:
    //   600 × 0.0000025 = 0.0015; 400 × 0.00000125 = 0.0005; 100 × 0.00002 = 0.002 → 0.004
    const result = priced(
      createPricing().cost({
        provider: "openai",
        model: "gpt-4o",
        usage,
        override: { output_cost_per_token: 0.00002 },
      }),
    );
    expect(result.source).toBe("override");
    expect(result.pricedAs).toBe("override+genai-prices:openai/gpt-4o");
    expect(result.cost).toMatchObject({ input: 0.0015, cacheRead: 0.0005, output: 0.002, total: 0.004 });
  });

  it("an override of a cache rate alone keeps the source's input and output rates", () => {
    // Override cache_read $0.50/M; gpt-4o's input $2.50/M and output $10/M stay:
    //   600 × 0.0000025 = 0.0015; 400 × 0.0000005 = 0.0002; 100 × 0.00001 = 0.001 → 0.0027
    const result = priced(
      createPricing().cost({
        provider: "openai",
        model: "gpt-4o",
        usage,
        override: { cache_read_input_token_cost: 0.0000005 },
      }),
    );
    expect(result.cost).toMatchObject({ input: 0.0015, cacheRead: 0.0002, output: 0.001, total: 0.0027 });
  });

  it("an overridden base rate applies at every size; the file's tier still applies to the other rates", () => {
    // claude-sonnet-4 (bundled LiteLLM), 300,000 in, 1,000 out, override input $2/M only:
    //   input 300,000 × 0.000002 = 0.6 (override, no tier of its own)
    //   output  1,000 × 0.0000225 = 0.0225 (file's above-200k output rate)  → total 0.6225
    const result = priced(
      createPricing({ useGenaiPrices: false }).cost({
        provider: "anthropic",
        model: "claude-sonnet-4-20250514",
        usage: makeUsage({ inputTokens: 300_000, outputTokens: 1_000 }),
        override: { input_cost_per_token: 0.000002 },
      }),
    );
    expect(result.cost).toMatchObject({ input: 0.6, output: 0.0225, total: 0.6225 });
  });

  it("a partial override of an unknown model is null, with the missing key named, and counted", () => {
    const logger = recordingLogger();
    const pricing = createPricing({ logger });
    const result = pricing.cost({
      provider: "openai",
      model: "my-private-finetune",
      usage,
      override: { output_cost_per_token: 0.00002 },
    });
    expect(result.cost).toBeNull();
    expect(result.reason).toBe(
      "no price for openai/my-private-finetune (the override lacks input_cost_per_token and no price source has the model)",
    );
    expect(pricing.unknownModelWarnings()).toEqual({ "openai/my-private-finetune": 1 });
  });

  it("input_cost_per_request adds a per-call charge, reported apart and included in the total", () => {
    // 1,000 × 0.000001 + 400-cached at input rate 0.0004... : uncached 600 × 0.000001 = 0.0006,
    // cached 400 × 0.000001 = 0.0004, output 100 × 0.000002 = 0.0002, request 0.005 → total 0.0062
    const result = priced(
      createPricing().cost({
        provider: "openai",
        model: "gpt-4o",
        usage,
        override: {
          input_cost_per_token: 0.000001,
          cache_read_input_token_cost: 0.000001,
          output_cost_per_token: 0.000002,
          input_cost_per_request: 0.005,
        },
      }),
    );
    expect(result.cost).toMatchObject({ input: 0.0006, cacheRead: 0.0004, request: 0.005, total: 0.0062 });
  });
});

describe("unknown models", () => {
  it("cost null with a reason, one warning per model (rate-limited), every call counted", () => {
    const logger = recordingLogger();
    const pricing = createPricing({ logger });
    const usage = makeUsage({ inputTokens: 10, outputTokens: 5 });
    const first = pricing.cost({ provider: "openai", model: "no-such-model-xyz", usage });
    pricing.cost({ provider: "openai", model: "no-such-model-xyz", usage });
    pricing.cost({ provider: "openai", model: "no-such-model-xyz", usage });
    pricing.cost({ provider: "groq", model: "another-unknown", usage });
    expect(first).toEqual({ cost: null, reason: "no price for openai/no-such-model-xyz" });
    expect(pricing.unknownModelWarnings()).toEqual({
      "openai/no-such-model-xyz": 3,
      "groq/another-unknown": 1,
    });
    // Three calls of the first model, one warning for it (the interval is one hour); one for the other.
    expect(logger.messages.map((entry) => (entry.fields as { model: string }).model)).toEqual([
      "no-such-model-xyz",
      "another-unknown",
    ]);
    expect(logger.messages[0]?.message).toContain("no price for openai/no-such-model-xyz");
  });

  it("logs again after the interval, with the count so far", () => {
    const logger = recordingLogger();
    const pricing = createPricing({ logger, unknownModelWarningIntervalMs: 0 });
    const usage = makeUsage({ inputTokens: 10, outputTokens: 5 });
    pricing.cost({ provider: "openai", model: "nope", usage });
    pricing.cost({ provider: "openai", model: "nope", usage });
    expect(logger.messages.map((entry) => (entry.fields as { count: number }).count)).toEqual([1, 2]);
  });

  it("invalid usage is null with its own reason and is not an unknown model", () => {
    const pricing = createPricing({ logger: recordingLogger() });
    const usage = { ...makeUsage({ inputTokens: 10, outputTokens: 5 }), outputTokens: Number.NaN };
    const result = pricing.cost({ provider: "openai", model: "gpt-4o", usage });
    expect(result).toEqual({
      cost: null,
      reason: "invalid usage: usage.outputTokens must be a finite non-negative number, got NaN",
    });
    expect(pricing.unknownModelWarnings()).toEqual({});
  });
});

describe("Bedrock ids", () => {
  // Converse sent back inputTokens 500 (uncached), cacheRead 1,000, cacheWrite 300, output 200.
  // claude-3-5-sonnet v2 on Bedrock: $3/M input, $0.30/M read, $3.75/M write, $15/M output.
  //   uncached   500 × 0.000003   = 0.0015
  //   read     1,000 × 0.0000003  = 0.0003
  //   write      300 × 0.00000375 = 0.001125
  //   output     200 × 0.000015   = 0.003
  //   total                        = 0.005925
  const usage = usageFromBedrock({
    inputTokens: 500,
    outputTokens: 200,
    cacheReadInputTokens: 1_000,
    cacheWriteInputTokens: 300,
  });
  const expected = {
    input: 0.0015,
    cacheRead: 0.0003,
    cacheCreation: 0.001125,
    output: 0.003,
    total: 0.005925,
  };

  it.each([
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
    "bedrock/converse/eu.anthropic.claude-3-5-sonnet-20241022-v2:0",
  ])("genai-prices prices %s", (model) => {
    const result = priced(createPricing().cost({ provider: "bedrock", model, usage }));
    expect(result.source).toBe("genai-prices");
    expect(result.cost).toMatchObject(expected);
  });

  it.each([
    [
      "anthropic.claude-3-5-sonnet-20241022-v2:0",
      "bundled-litellm:anthropic.claude-3-5-sonnet-20241022-v2:0",
    ],
    [
      "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
      "bundled-litellm:us.anthropic.claude-3-5-sonnet-20241022-v2:0",
    ],
    // No "jp." key for this model in the snapshot: the geography prefix is dropped.
    [
      "jp.anthropic.claude-3-5-sonnet-20241022-v2:0",
      "bundled-litellm:anthropic.claude-3-5-sonnet-20241022-v2:0",
    ],
    [
      "converse/anthropic.claude-3-5-sonnet-20241022-v2:0",
      "bundled-litellm:anthropic.claude-3-5-sonnet-20241022-v2:0",
    ],
  ])("the bundled LiteLLM snapshot prices %s", (model, pricedAs) => {
    const result = priced(
      createPricing({ useGenaiPrices: false }).cost({ provider: "bedrock", model, usage }),
    );
    expect(result.pricedAs).toBe(pricedAs);
    expect(result.cost).toMatchObject(expected);
  });
});

describe("Azure deployments, Ollama and the mock provider", () => {
  const usage = makeUsage({ inputTokens: 1_000, outputTokens: 100 });

  it("prices an Azure deployment by its base model", () => {
    // gpt-4o on Azure: 1,000 × 0.0000025 + 100 × 0.00001 = 0.0025 + 0.001 = 0.0035
    const query = { provider: "azure", model: "prod-east-gpt4o", baseModel: "gpt-4o", usage };
    const genai = priced(createPricing().cost(query));
    expect(genai.pricedAs).toBe("genai-prices:azure/gpt-4o");
    expect(genai.cost.total).toBe(0.0035);
    const litellm = priced(
      createPricing({ useGenaiPrices: false }).cost({ ...query, baseModel: "azure/gpt-4o" }),
    );
    expect(litellm.pricedAs).toBe("bundled-litellm:azure/gpt-4o");
    expect(litellm.cost.total).toBe(0.0035);
  });

  it("does not guess an Azure deployment name without a base model", () => {
    const pricing = createPricing({ logger: recordingLogger() });
    const result = pricing.cost({ provider: "azure", model: "prod-east-gpt4o", usage });
    expect(result).toEqual({ cost: null, reason: "no price for azure/prod-east-gpt4o" });
  });

  it("Ollama models the price file lists at 0 cost 0; others are unknown, never a paid API's price", () => {
    const pricing = createPricing({ logger: recordingLogger() });
    const llama3 = priced(pricing.cost({ provider: "ollama", model: "llama3", usage }));
    expect(llama3).toMatchObject({ source: "litellm-file", pricedAs: "bundled-litellm:ollama/llama3" });
    expect(llama3.cost.total).toBe(0);
    // A size tag is dropped when the tagged name is not listed: llama3.1:8b → ollama/llama3.1.
    const tagged = priced(pricing.cost({ provider: "ollama_chat", model: "llama3.1:8b", usage }));
    expect(tagged.pricedAs).toBe("bundled-litellm:ollama/llama3.1");
    expect(tagged.cost.total).toBe(0);
    const unknown = pricing.cost({ provider: "ollama", model: "qwen2.5:7b", usage });
    expect(unknown).toEqual({ cost: null, reason: "no price for ollama/qwen2.5:7b" });
  });

  it("the mock provider is free", () => {
    const result = priced(createPricing().cost({ provider: "mock", model: "anything", usage }));
    expect(result.source).toBe("free");
    expect(result.cost.total).toBe(0);
  });

  it("a mock deployment with a price override is priced by it (for tests of cost reporting)", () => {
    // 1,000 × 0.000001 = 0.001; output rate not overridden → mock's 0 → total 0.001
    const result = priced(
      createPricing().cost({
        provider: "mock",
        model: "m",
        usage,
        override: { input_cost_per_token: 0.000001 },
      }),
    );
    expect(result).toMatchObject({ source: "override", pricedAs: "override+mock" });
    expect(result.cost.total).toBe(0.001);
  });
});

describe("provider given inside the model name", () => {
  it("reads the provider from 'openai/gpt-4o' when none is given", () => {
    // 1,000 × 0.0000025 + 100 × 0.00001 = 0.0025 + 0.001 = 0.0035
    const usage = makeUsage({ inputTokens: 1_000, outputTokens: 100 });
    const result = priced(createPricing().cost({ provider: "", model: "openai/gpt-4o", usage }));
    expect(result.pricedAs).toBe("genai-prices:openai/gpt-4o");
    expect(result.cost.total).toBe(0.0035);
  });
});

describe("preload", () => {
  it("loads the sources up front; pricing afterwards is unchanged", () => {
    const pricing = createPricing();
    pricing.preload?.();
    const usage = makeUsage({ inputTokens: 1_000, outputTokens: 100 });
    expect(priced(pricing.cost({ provider: "ollama", model: "llama3", usage })).cost.total).toBe(0);
  });
});

describe("embeddings", () => {
  it("a model priced for input only costs its input (genai-prices text-embedding-3-large)", () => {
    // text-embedding-3-large: $0.13/M input, no output price. 2,000 × 0.00000013 = 0.00026.
    const usage = makeUsage({ inputTokens: 2_000, outputTokens: 0 });
    const result = priced(
      createPricing().cost({ provider: "openai", model: "text-embedding-3-large", usage }),
    );
    expect(result.pricedAs).toBe("genai-prices:openai/text-embedding-3-large");
    expect(result.cost).toMatchObject({ input: 0.00026, output: 0, total: 0.00026 });
  });

  it("bill input only", () => {
    // text-embedding-3-small: $0.02/M input. 1,000 × 0.00000002 = 0.00002; outputTokens are ignored.
    const usage = makeUsage({ inputTokens: 1_000, outputTokens: 50 });
    const result = priced(
      createPricing().cost({
        provider: "openai",
        model: "text-embedding-3-small",
        usage,
        callType: "embeddings",
      }),
    );
    expect(result.cost).toMatchObject({ input: 0.00002, output: 0, total: 0.00002 });
  });
});

describe("a user-supplied LiteLLM price file", () => {
  const usage = makeUsage({ inputTokens: 1_000, cachedInputTokens: 0, outputTokens: 100 });
  const file = {
    "gpt-4o": { input_cost_per_token: 0.000001, output_cost_per_token: 0.000004, litellm_provider: "openai" },
    "my-local-model": { input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000002 },
  };

  it("wins over genai-prices and the bundled snapshot (path form)", () => {
    // 1,000 × 0.000001 + 100 × 0.000004 = 0.001 + 0.0004 = 0.0014 (bundled would be 0.0035)
    const directory = mkdtempSync(join(tmpdir(), "llmux-pricing-"));
    const path = join(directory, "model_prices_and_context_window.json");
    writeFileSync(path, JSON.stringify(file));
    const result = priced(
      createPricing({ priceFile: path }).cost({ provider: "openai", model: "gpt-4o", usage }),
    );
    expect(result).toMatchObject({ source: "litellm-file", pricedAs: "user-file:gpt-4o" });
    expect(result.cost.total).toBe(0.0014);
  });

  it("prices models only it knows (object form, entry without litellm_provider)", () => {
    // 1,000 × 0.0000001 + 100 × 0.0000002 = 0.0001 + 0.00002 = 0.00012
    const result = priced(
      createPricing({ priceFile: file }).cost({ provider: "hosted_vllm", model: "my-local-model", usage }),
    );
    expect(result.cost.total).toBe(0.00012);
  });

  it("an unreadable or malformed file is a start-up error naming the path, with a kind", () => {
    expect(() => createPricing({ priceFile: "/nonexistent/prices.json" })).toThrow(
      /cannot read \/nonexistent/,
    );
    const directory = mkdtempSync(join(tmpdir(), "llmux-pricing-"));
    const path = join(directory, "broken.json");
    writeFileSync(path, "{ not json");
    let thrown: unknown;
    try {
      createPricing({ priceFile: path });
    } catch (error) {
      thrown = error;
    }
    expect((thrown as { kind?: string }).kind).toBe("llmux.pricing.config");
    expect((thrown as Error).message).toContain(`${path} is not valid JSON`);
  });
});

describe("agreement with genai-prices' own calculation", () => {
  // The same calls priced by genai-prices' calcPrice (float arithmetic) and by createPricing (exact
  // decimals, then one rounding) must agree to 12 decimal places; tiers included.
  it.each([
    ["openai", "openai", "gpt-4o", 12_345, 2_048, 0, 777],
    ["anthropic", "anthropic", "claude-3-5-sonnet-20241022", 30_000, 20_000, 4_000, 1_500],
    ["gemini", "google", "gemini-2.5-pro", 260_000, 60_000, 0, 9_000],
    ["bedrock", "aws", "amazon.nova-pro-v1:0", 5_000, 1_000, 0, 300],
  ])("%s %s", (provider, genaiProvider, model, input, cacheRead, cacheWrite, output) => {
    const usage = makeUsage({
      inputTokens: input,
      cachedInputTokens: cacheRead,
      cacheCreationInputTokens: cacheWrite,
      outputTokens: output,
    });
    const ours = priced(createPricing().cost({ provider, model, usage }));
    const theirs = calcPrice(
      {
        input_tokens: input,
        cache_read_tokens: cacheRead,
        cache_write_tokens: cacheWrite,
        output_tokens: output,
      },
      model,
      { providerId: genaiProvider },
    );
    expect(theirs).not.toBeNull();
    expect(ours.cost.total).toBeCloseTo(theirs?.total_price ?? Number.NaN, 12);
    expect(ours.cost.output).toBeCloseTo(theirs?.output_price ?? Number.NaN, 12);
  });
});

describe("model catalogue (wildcard groups, pre-call checks)", () => {
  it("lists a provider's chat models and reads a model's context window from the bundled snapshot", () => {
    const pricing = createPricing({ useGenaiPrices: false });
    const openai = pricing.listModels!("openai");
    // Sent: provider "openai". Came back: bare names, gpt-4o among them, no embedding models, no prefixes.
    expect(openai).toContain("gpt-4o");
    expect(openai).not.toContain("text-embedding-3-small");
    expect(openai.every((name) => !name.startsWith("openai/"))).toBe(true);
    expect(pricing.listModels!("openai", "embedding")).toContain("text-embedding-3-small");
    expect(pricing.modelInfo!("openai", "gpt-4o")).toMatchObject({ maxInputTokens: 128000, mode: "chat" });
    expect(pricing.modelInfo!("openai", "no-such-model")).toBeUndefined();
  });

  it("a user price file adds its models", () => {
    const pricing = createPricing({
      useGenaiPrices: false,
      priceFile: {
        "my-model": {
          input_cost_per_token: 1e-6,
          output_cost_per_token: 2e-6,
          litellm_provider: "openai",
          max_input_tokens: 1000,
          mode: "chat",
        },
      },
    });
    expect(pricing.listModels!("openai")).toContain("my-model");
    expect(pricing.modelInfo!("openai", "my-model")?.maxInputTokens).toBe(1000);
  });
});
