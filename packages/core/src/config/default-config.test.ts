/**
 * The embedded default configuration (llmux.config.yaml at the repository root) prices its mock
 * models like the models they stand in for, with the rates of the LiteLLM price snapshot that
 * @llmux/pricing bundles, so a newcomer sees x-llmux-response-cost at work without any key.
 */
import { readFileSync } from "node:fs";
import { bundledPriceFilePath } from "@llmux/pricing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";
import type { LlmuxConfig } from "./types";

const CONFIG_PATH = new URL("../../../../llmux.config.yaml", import.meta.url);
/** mock model → the model whose prices it carries. */
const STANDS_IN_FOR: Record<string, string> = {
  "mock/gpt-4o-mini": "gpt-4o-mini",
  "mock/claude-sonnet": "claude-sonnet-4-5",
  "mock/text-embedding-3-small": "text-embedding-3-small",
};
const PRICE_KEYS = [
  "input_cost_per_token",
  "output_cost_per_token",
  "cache_read_input_token_cost",
  "cache_creation_input_token_cost",
] as const;

type Entry = NonNullable<LlmuxConfig["model_list"]>[number];
const config = parseYaml(readFileSync(CONFIG_PATH, "utf8")) as LlmuxConfig;
const snapshot = JSON.parse(readFileSync(bundledPriceFilePath(), "utf8")) as Record<
  string,
  Record<string, unknown>
>;
let app: TestGateway;

beforeAll(async () => {
  // the model list and router settings as shipped (the key store needs @llmux/control: not here)
  app = await startTestGateway({ model_list: config.model_list, router_settings: config.router_settings });
});

afterAll(async () => {
  await app?.close();
});

describe("llmux.config.yaml", () => {
  it("prices every mock model with the snapshot's rates of the model it stands in for", () => {
    const mocks = (config.model_list ?? []).filter((entry: Entry) =>
      String(entry.litellm_params.model).startsWith("mock/"),
    );
    expect(mocks.map((entry: Entry) => entry.litellm_params.model).sort()).toEqual(
      Object.keys(STANDS_IN_FOR).sort(),
    );
    for (const entry of mocks) {
      const params = entry.litellm_params as Record<string, unknown>;
      const real = snapshot[STANDS_IN_FOR[String(params.model)] as string];
      expect(real, String(params.model)).toBeDefined();
      for (const key of PRICE_KEYS) {
        const expected = real?.[key];
        // a rate the snapshot has (and is not 0) is configured with the same value
        if (typeof expected === "number" && expected > 0)
          expect(params[key], `${params.model} ${key}`).toBe(expected);
        else expect(params[key], `${params.model} ${key}`).toBeUndefined();
      }
    }
  });

  it("a chat call and an embeddings call on the default config cost what the real models would", async () => {
    const chat = await fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello there" }] }),
    });
    const body = (await chat.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const rates = snapshot["gpt-4o-mini"] as { input_cost_per_token: number; output_cost_per_token: number };
    const expected =
      body.usage.prompt_tokens * rates.input_cost_per_token +
      body.usage.completion_tokens * rates.output_cost_per_token;
    const cost = Number(chat.headers.get("x-llmux-response-cost"));
    console.log(`[default config] gpt-4o-mini: ${JSON.stringify(body.usage)} → $${cost}`);
    expect(expected).toBeGreaterThan(0);
    expect(cost).toBeCloseTo(expected, 12);

    const embedding = await fetch(`${app.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "text-embedding-3-small", input: "Hello there" }),
    });
    const embedded = (await embedding.json()) as { usage: { prompt_tokens: number } };
    const embeddingCost = Number(embedding.headers.get("x-llmux-response-cost"));
    expect(embeddingCost).toBeGreaterThan(0);
    expect(embeddingCost).toBeCloseTo(
      embedded.usage.prompt_tokens *
        (snapshot["text-embedding-3-small"] as { input_cost_per_token: number }).input_cost_per_token,
      14,
    );
  });
});
