import { describe, expect, it } from "vitest";
import {
  makeUsage,
  usageFromAnthropic,
  usageFromBedrock,
  usageFromOllama,
  usageFromOpenAI,
} from "./usage-normalisers.js";

describe("usageFromOpenAI", () => {
  it("keeps prompt_tokens as the input total and reads cached and reasoning details", () => {
    // OpenAI sent back: prompt 1,200 (of which 1,024 cached), completion 300 (of which 256 reasoning).
    const usage = usageFromOpenAI({
      prompt_tokens: 1_200,
      completion_tokens: 300,
      total_tokens: 1_500,
      prompt_tokens_details: { cached_tokens: 1_024 },
      completion_tokens_details: { reasoning_tokens: 256 },
    });
    expect(usage).toEqual({
      inputTokens: 1_200,
      cachedInputTokens: 1_024,
      cacheCreationInputTokens: 0,
      outputTokens: 300,
      reasoningTokens: 256,
      totalTokens: 1_500,
    });
  });

  it("reads an embeddings usage (no completion tokens) and null details", () => {
    const usage = usageFromOpenAI({ prompt_tokens: 8, total_tokens: 8, prompt_tokens_details: null });
    expect(usage).toEqual({
      inputTokens: 8,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      totalTokens: 8,
    });
  });

  it("reads the Responses API names", () => {
    const usage = usageFromOpenAI({
      input_tokens: 100,
      output_tokens: 40,
      input_tokens_details: { cached_tokens: 60 },
      output_tokens_details: { reasoning_tokens: 30 },
    });
    expect(usage).toMatchObject({
      inputTokens: 100,
      cachedInputTokens: 60,
      outputTokens: 40,
      reasoningTokens: 30,
    });
    expect(usage.totalTokens).toBe(140);
  });

  it("returns zeros for a missing usage block", () => {
    expect(usageFromOpenAI(undefined)).toEqual(makeUsage({ inputTokens: 0, outputTokens: 0 }));
  });
});

describe("usageFromAnthropic", () => {
  it("adds the cache counts to input_tokens (which excludes them)", () => {
    // Anthropic sent back: input_tokens 50, cache_read 2,000, cache_creation 1,000 (all 1-hour), output 80.
    const usage = usageFromAnthropic({
      input_tokens: 50,
      cache_read_input_tokens: 2_000,
      cache_creation_input_tokens: 1_000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000 },
      output_tokens: 80,
    });
    // inputTokens = 50 + 2,000 + 1,000 = 3,050; totalTokens = 3,050 + 80 = 3,130.
    expect(usage).toEqual({
      inputTokens: 3_050,
      cachedInputTokens: 2_000,
      cacheCreationInputTokens: 1_000,
      cacheCreation1hInputTokens: 1_000,
      outputTokens: 80,
      reasoningTokens: 0,
      totalTokens: 3_130,
    });
  });

  it("handles the streaming message_start shape with null cache fields", () => {
    const usage = usageFromAnthropic({
      input_tokens: 12,
      output_tokens: 1,
      cache_read_input_tokens: null,
      cache_creation_input_tokens: null,
    });
    expect(usage).toMatchObject({
      inputTokens: 12,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      totalTokens: 13,
    });
  });
});

describe("usageFromBedrock", () => {
  it("adds cacheRead/cacheWrite to inputTokens (Converse reports only the uncached input there)", () => {
    // Converse sent back: inputTokens 500, outputTokens 200, totalTokens 2,000, cacheRead 1,000, cacheWrite 300.
    const usage = usageFromBedrock({
      inputTokens: 500,
      outputTokens: 200,
      totalTokens: 2_000,
      cacheReadInputTokens: 1_000,
      cacheWriteInputTokens: 300,
    });
    // inputTokens = 500 + 1,000 + 300 = 1,800; totalTokens = 1,800 + 200 = 2,000 (= Converse's totalTokens).
    expect(usage).toEqual({
      inputTokens: 1_800,
      cachedInputTokens: 1_000,
      cacheCreationInputTokens: 300,
      outputTokens: 200,
      reasoningTokens: 0,
      totalTokens: 2_000,
    });
  });

  it("works without cache fields", () => {
    const usage = usageFromBedrock({ inputTokens: 10, outputTokens: 5, totalTokens: 15 });
    expect(usage).toMatchObject({ inputTokens: 10, cachedInputTokens: 0, outputTokens: 5, totalTokens: 15 });
  });
});

describe("usageFromOllama", () => {
  it("reads prompt_eval_count and eval_count from an /api/chat response", () => {
    const response = {
      model: "llama3",
      done: true,
      message: { role: "assistant", content: "hi" },
      prompt_eval_count: 26,
      eval_count: 298,
      total_duration: 5_000_000,
    };
    expect(usageFromOllama(response)).toEqual({
      inputTokens: 26,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      outputTokens: 298,
      reasoningTokens: 0,
      totalTokens: 324,
    });
  });

  it("treats a missing prompt_eval_count (prompt served from Ollama's cache) as 0", () => {
    expect(usageFromOllama({ eval_count: 7 })).toMatchObject({
      inputTokens: 0,
      outputTokens: 7,
      totalTokens: 7,
    });
  });
});

describe("makeUsage", () => {
  it("keeps parts within their whole and ignores negative or non-finite counts", () => {
    // Reported: 100 input with 80 cached and 50 cache writes (inconsistent), 10 output with 20 reasoning.
    const usage = makeUsage({
      inputTokens: 100,
      cachedInputTokens: 80,
      cacheCreationInputTokens: 50,
      outputTokens: 10,
      reasoningTokens: 20,
    });
    // cache writes clipped to 100 − 80 = 20; reasoning clipped to 10.
    expect(usage).toEqual({
      inputTokens: 100,
      cachedInputTokens: 80,
      cacheCreationInputTokens: 20,
      outputTokens: 10,
      reasoningTokens: 10,
      totalTokens: 110,
    });
    expect(makeUsage({ inputTokens: -5, outputTokens: Number.NaN })).toMatchObject({
      inputTokens: 0,
      outputTokens: 0,
    });
  });
});
