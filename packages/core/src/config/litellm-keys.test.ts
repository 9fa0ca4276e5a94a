/**
 * The LiteLLM keys of issue 15 at call time: the official openai SDK → a gateway (real HTTP, port 0)
 * → the @llmux/testing mock. Each test says what the SDK sent, what reached the mock and what came
 * back: drop_params (litellm_settings and per deployment), additional_drop_params,
 * enable_pre_call_checks, litellm_settings.fallbacks / context_window_fallbacks / num_retries /
 * request_timeout, model_group_alias in both sections.
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";
import type { LlmuxConfig } from "./types";

let mock: MockProvider;
const open: TestGateway[] = [];

beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(async () => {
  for (const gateway of open) await gateway.close();
  await mock?.close();
});
beforeEach(() => mock.clear());

async function gatewayFor(config: LlmuxConfig): Promise<{ app: TestGateway; client: OpenAI }> {
  const app = await startTestGateway(config);
  open.push(app);
  return { app, client: new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 }) };
}

const FAST = { retry_after: 0.001, cooldown_time: 0, allowed_fails: 100 };
// About 15 000 tokens of English (chars/4 and a real tokenizer agree within a few percent here).
const LONG_PROMPT = "The quick brown fox jumps over the lazy dog. ".repeat(1500);

describe("drop_params", () => {
  const claude = (extra: Record<string, unknown> = {}) => ({
    model_name: "claude",
    litellm_params: {
      model: "anthropic/claude-3-5-sonnet-20241022",
      api_base: mock.url,
      api_key: "k",
      ...extra,
    },
  });

  it("off (LiteLLM's default): parameters Anthropic does not take are a 400 naming them and the setting", async () => {
    const { client } = await gatewayFor({ model_list: [claude()] });
    // Sent seed and presence_penalty to an anthropic/ deployment; nothing reached the mock.
    const error = await client.chat.completions
      .create({
        model: "claude",
        messages: [{ role: "user", content: "hi" }],
        seed: 1,
        presence_penalty: 0.5,
      })
      .catch((caught: unknown) => caught as { status: number; message: string; code?: string });
    expect(error).toMatchObject({ status: 400, code: "unsupported_params" });
    expect((error as { message: string }).message).toMatch(/presence_penalty, seed/);
    expect((error as { message: string }).message).toMatch(/drop_params/);
    expect(mock.requests).toHaveLength(0);
  });

  it("litellm_settings.drop_params: true drops them and the call succeeds", async () => {
    const { client } = await gatewayFor({ model_list: [claude()], litellm_settings: { drop_params: true } });
    const reply = await client.chat.completions.create({
      model: "claude",
      messages: [{ role: "user", content: "hi" }],
      seed: 1,
      logit_bias: { "50256": -100 },
      temperature: 0.2,
    });
    expect(reply.choices[0]!.message.content).toBeTruthy();
    const [sent] = await mock.waitForRequests(1);
    // The Messages body kept temperature; seed and logit_bias are gone.
    expect(sent!.body).toMatchObject({ temperature: 0.2 });
    expect(sent!.body.seed).toBeUndefined();
    expect(sent!.body.logit_bias).toBeUndefined();
  });

  it("litellm_params.drop_params on one deployment wins over the setting", async () => {
    const { client } = await gatewayFor({
      model_list: [claude({ drop_params: true })],
      litellm_settings: { drop_params: false },
    });
    const reply = await client.chat.completions.create({
      model: "claude",
      messages: [{ role: "user", content: "hi" }],
      seed: 1,
    });
    expect(reply.choices[0]!.message.content).toBeTruthy();
  });

  it("OpenAI deployments get every parameter (the upstream decides); additional_drop_params removes named ones", async () => {
    const { client } = await gatewayFor({
      model_list: [
        { model_name: "plain", litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1` } },
        {
          model_name: "trimmed",
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: `${mock.url}/v1`,
            additional_drop_params: ["user", "seed"],
          },
        },
      ],
    });
    await client.chat.completions.create({
      model: "plain",
      messages: [{ role: "user", content: "a" }],
      seed: 3,
      user: "u1",
    });
    await client.chat.completions.create({
      model: "trimmed",
      messages: [{ role: "user", content: "a" }],
      seed: 3,
      user: "u1",
    });
    const [plain, trimmed] = await mock.waitForRequests(2);
    expect(plain!.body).toMatchObject({ seed: 3, user: "u1" });
    expect(trimmed!.body.seed).toBeUndefined();
    expect(trimmed!.body.user).toBeUndefined();
  });
});

describe("enable_pre_call_checks (context window before routing)", () => {
  // gpt-4's window in the price files is 8192 tokens; the prompt is about 15 000.
  const config = (checks: boolean | undefined, smallWindow?: number): LlmuxConfig => ({
    model_list: [
      {
        model_name: "small",
        litellm_params: { model: "openai/gpt-4", api_base: `${mock.scenarioUrl("small")}/v1` },
        ...(smallWindow ? { model_info: { max_input_tokens: smallWindow } } : {}),
      },
      {
        model_name: "big",
        litellm_params: { model: "openai/gpt-4o", api_base: `${mock.scenarioUrl("big")}/v1` },
      },
    ],
    router_settings: {
      ...FAST,
      context_window_fallbacks: [{ small: ["big"] }],
      ...(checks === undefined ? {} : { enable_pre_call_checks: checks }),
    },
  });

  it("true: the price files' window (gpt-4: 8192) sends a 15k-token prompt straight to the fallback", async () => {
    const { app, client } = await gatewayFor(config(true));
    await client.chat.completions.create({
      model: "small",
      messages: [{ role: "user", content: LONG_PROMPT }],
    });
    const sent = await mock.waitForRequests(1);
    expect(sent.map((request) => request.scenario)).toEqual(["big"]);
    const [event] = await app.flushEvents();
    expect(event).toMatchObject({ status: "success", modelGroup: "big", fallbacks: 1 });
  });

  it("unset: only model_info.max_input_tokens is checked (none here: small is called)", async () => {
    const { client } = await gatewayFor(config(undefined));
    await client.chat.completions.create({
      model: "small",
      messages: [{ role: "user", content: LONG_PROMPT }],
    });
    const sent = await mock.waitForRequests(1);
    expect(sent.map((request) => request.scenario)).toEqual(["small"]);
  });

  it("false: no check before the call, even with model_info.max_input_tokens", async () => {
    const { client } = await gatewayFor(config(false, 1000));
    await client.chat.completions.create({
      model: "small",
      messages: [{ role: "user", content: LONG_PROMPT }],
    });
    const sent = await mock.waitForRequests(1);
    expect(sent.map((request) => request.scenario)).toEqual(["small"]);
  });

  it("unset with model_info.max_input_tokens: checked (the fallback serves)", async () => {
    const { client } = await gatewayFor(config(undefined, 1000));
    await client.chat.completions.create({
      model: "small",
      messages: [{ role: "user", content: LONG_PROMPT }],
    });
    const sent = await mock.waitForRequests(1);
    expect(sent.map((request) => request.scenario)).toEqual(["big"]);
  });
});

describe("litellm_settings routing keys (LiteLLM accepts them there as well as in router_settings)", () => {
  const pair = (): LlmuxConfig["model_list"] => [
    {
      model_name: "bad",
      litellm_params: { model: "openai/gpt-4o", api_base: `${mock.scenarioUrl("bad")}/v1` },
    },
    {
      model_name: "good",
      litellm_params: { model: "openai/gpt-4o", api_base: `${mock.scenarioUrl("good")}/v1` },
    },
  ];

  it("fallbacks: a failing group falls back to the one litellm_settings names", async () => {
    const { app, client } = await gatewayFor({
      model_list: pair(),
      router_settings: FAST,
      litellm_settings: { fallbacks: [{ bad: ["good"] }], num_retries: 0 },
    });
    mock.scenario("bad", { status: 500 });
    await client.chat.completions.create({ model: "bad", messages: [{ role: "user", content: "x" }] });
    const sent = await mock.waitForRequests(2);
    // num_retries: 0 → one attempt on bad, then good.
    expect(sent.map((request) => request.scenario)).toEqual(["bad", "good"]);
    const [event] = await app.flushEvents();
    expect(event).toMatchObject({ status: "success", modelGroup: "good", fallbacks: 1 });
  });

  it("num_retries: 2 retries a 500 twice on the same group before failing", async () => {
    const { client } = await gatewayFor({
      model_list: pair(),
      router_settings: FAST,
      litellm_settings: { num_retries: 2 },
    });
    mock.scenario("bad", { status: 500 });
    await expect(
      client.chat.completions.create({ model: "bad", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toThrow();
    expect(mock.requests.map((request) => request.scenario)).toEqual(["bad", "bad", "bad"]);
  });

  it("context_window_fallbacks: an upstream context-length error moves to the named group", async () => {
    const { client } = await gatewayFor({
      model_list: pair(),
      router_settings: FAST,
      litellm_settings: { context_window_fallbacks: [{ bad: ["good"] }] },
    });
    mock.scenario("bad", {
      status: 400,
      body: {
        error: {
          message: "This model's maximum context length is 8192 tokens",
          type: "invalid_request_error",
          code: "context_length_exceeded",
        },
      },
    });
    await client.chat.completions.create({ model: "bad", messages: [{ role: "user", content: "x" }] });
    expect(mock.requests.map((request) => request.scenario)).toEqual(["bad", "good"]);
  });

  it("request_timeout: a deployment slower than it times out (504)", async () => {
    const { client } = await gatewayFor({
      model_list: pair(),
      router_settings: FAST,
      litellm_settings: { request_timeout: 0.3, num_retries: 0 },
    });
    mock.scenario("bad", { hang: true });
    const error = await client.chat.completions
      .create({ model: "bad", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught as { status: number });
    expect(error).toMatchObject({ status: 504 });
  });

  it("model_group_alias in litellm_settings and router_settings (router_settings wins for the same alias)", async () => {
    const { client } = await gatewayFor({
      model_list: pair(),
      litellm_settings: { model_group_alias: { first: "bad", both: "bad" } },
      router_settings: { model_group_alias: { both: "good" } },
    });
    await client.chat.completions.create({ model: "first", messages: [{ role: "user", content: "x" }] });
    await client.chat.completions.create({ model: "both", messages: [{ role: "user", content: "x" }] });
    expect(mock.requests.map((request) => request.scenario)).toEqual(["bad", "good"]);
    const ids = (await client.models.list()).data.map((model) => model.id);
    expect(ids).toEqual(expect.arrayContaining(["bad", "good", "first", "both"]));
  });
});
