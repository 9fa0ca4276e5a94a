/**
 * Token counts against known values. The expected counts were produced by js-tiktoken (the port of
 * OpenAI's tiktoken, an implementation independent of gpt-tokenizer) for the same texts, and OpenAI's
 * cookbook example ("tiktoken is great!" = 6 tokens). The chars/4 rule this replaces gave 9 for the
 * Japanese text (32 real) and 8 for the Chinese one (24 real).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { countPromptTokens } from "./count-prompt";
import { approximateTokens, countTextTokens, encodingForModel, loadTokenizer } from "./tokenizer";

const ENGLISH = "The quick brown fox jumps over the lazy dog. Tokenizers split text into subword units.";
const JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。";
const CHINESE = "我们今天去公园散步，天气非常好，阳光明媚。人工智能正在改变世界。";

describe("before the tables are loaded", () => {
  it("approximates, counting CJK characters one token each", () => {
    expect(approximateTokens(JAPANESE)).toBe(33);
    expect(approximateTokens(CHINESE)).toBe(32);
    expect(approximateTokens(ENGLISH)).toBe(22);
  });
});

describe("with the model's encoding", () => {
  beforeAll(async () => {
    expect(await loadTokenizer("o200k_base")).toBeDefined();
    expect(await loadTokenizer("cl100k_base")).toBeDefined();
  });

  it("picks o200k_base for GPT-4o/4.1/5/o-series (and other vendors), cl100k_base for GPT-4 and GPT-3.5", () => {
    expect(encodingForModel("gpt-4o-mini")).toBe("o200k_base");
    expect(encodingForModel("openai/gpt-5")).toBe("o200k_base");
    expect(encodingForModel("o3-mini")).toBe("o200k_base");
    expect(encodingForModel("gpt-4.1")).toBe("o200k_base");
    expect(encodingForModel("claude-sonnet-4")).toBe("o200k_base");
    expect(encodingForModel("gpt-4")).toBe("cl100k_base");
    expect(encodingForModel("gpt-4-turbo")).toBe("cl100k_base");
    expect(encodingForModel("gpt-3.5-turbo")).toBe("cl100k_base");
    expect(encodingForModel("text-embedding-3-small")).toBe("cl100k_base");
  });

  it("counts English, Japanese and Chinese text exactly (o200k_base)", () => {
    expect(countTextTokens(ENGLISH, "gpt-4o")).toBe(19);
    expect(countTextTokens(JAPANESE, "gpt-4o")).toBe(32);
    expect(countTextTokens(CHINESE, "gpt-4o")).toBe(24);
    expect(countTextTokens("tiktoken is great!", "gpt-4o")).toBe(6);
  });

  it("counts the same texts with cl100k_base for GPT-4", () => {
    expect(countTextTokens(ENGLISH, "gpt-4")).toBe(19);
    expect(countTextTokens(JAPANESE, "gpt-4")).toBe(39);
    expect(countTextTokens(CHINESE, "gpt-4")).toBe(38);
    expect(countTextTokens("tiktoken is great!", "gpt-3.5-turbo")).toBe(6);
  });

  it("counts special-token text as text instead of throwing", () => {
    expect(countTextTokens("a <|endoftext|> b", "gpt-4o")).toBe(9);
  });

  it("counts a chat request with OpenAI's framing: 3 per message + 3 priming", () => {
    const body = {
      model: "gpt-4o",
      messages: [
        { role: "system", content: JAPANESE },
        { role: "user", content: [{ type: "text", text: CHINESE }] },
      ],
    };
    expect(countPromptTokens(body)).toBe(3 + 32 + 3 + 24 + 3);
  });

  it("counts Anthropic system + messages and Responses instructions + input", () => {
    expect(
      countPromptTokens({ model: "gpt-4o", system: ENGLISH, messages: [{ role: "user", content: CHINESE }] }),
    ).toBe(19 + 3 + 24 + 3);
    expect(countPromptTokens({ model: "gpt-4o", instructions: ENGLISH, input: JAPANESE })).toBe(19 + 3 + 32);
    expect(countPromptTokens({ model: "gpt-4o", prompt: [ENGLISH, CHINESE] })).toBe(19 + 24);
  });
});
