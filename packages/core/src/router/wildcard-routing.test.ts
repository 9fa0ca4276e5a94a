/**
 * Wildcard model groups end to end: the official openai SDK → the gateway (real HTTP, port 0) → the
 * @llmux/testing mock speaking OpenAI. `model_name: "openai/*"` and `"*"` route any matching name to
 * the provider with the concrete model, priced by that model, reported with it in the call event.
 */
import { createPricing, type Usage } from "@llmux/pricing";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../config/load-config";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

let mock: MockProvider;
let app: TestGateway;
let client: OpenAI;
const pricing = createPricing({ useGenaiPrices: false });

function usageOf(event: { usage: Usage | null }): Usage {
  expect(event.usage).not.toBeNull();
  return event.usage as Usage;
}

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway({
    model_list: [
      // An exact group wins over every pattern.
      {
        model_name: "fixed",
        litellm_params: { model: "openai/gpt-4o", api_base: `${mock.scenarioUrl("fixed")}/v1` },
      },
      {
        model_name: "openai/*",
        litellm_params: { model: "openai/*", api_base: `${mock.url}/v1`, api_key: "sk-a" },
      },
      { model_name: "*", litellm_params: { model: "openai/*", api_base: `${mock.scenarioUrl("any")}/v1` } },
    ],
    router_settings: {
      cooldown_time: 0,
      allowed_fails: 100,
      retry_after: 0.001,
      fallbacks: [{ fixed: ["openai/gpt-4o-mini"] }],
      model_group_alias: { smart: "openai/gpt-4o", secret: { model: "fixed", hidden: true } },
    },
  });
  client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

beforeEach(() => {
  mock.clear();
  app.events.length = 0;
});

describe("model_name 'openai/*' with litellm_params.model 'openai/*'", () => {
  it("routes openai/gpt-4o to the provider as gpt-4o, priced as gpt-4o, with the concrete model in the event", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "openai/gpt-4o", messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    const [sent] = await mock.waitForRequests(1);
    // Sent "openai/gpt-4o"; the mock (no scenario: the openai/* deployment) received model "gpt-4o".
    expect(sent!.path).toBe("/v1/chat/completions");
    expect(sent!.scenario).toBeUndefined();
    expect((sent!.body as { model: string }).model).toBe("gpt-4o");
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-llmux-model-group")).toBe("openai/gpt-4o");
    expect(response.headers.get("x-llmux-model-id")).toBe("openai/*-1:gpt-4o");

    const [event] = await app.flushEvents();
    expect(event).toMatchObject({ status: "success", modelGroup: "openai/gpt-4o", provider: "openai" });
    expect(event!.attempts[0]).toMatchObject({ model: "gpt-4o", provider: "openai" });
    const expected = pricing.cost({ provider: "openai", model: "gpt-4o", usage: usageOf(event!) });
    expect(expected.cost).not.toBeNull();
    expect(event!.cost?.total).toBe(expected.cost!.total);
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBe(expected.cost!.total);
  });

  it("streams through the pattern too (gpt-4o-mini, priced as gpt-4o-mini)", async () => {
    const stream = await client.chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    const [sent] = await mock.waitForRequests(1);
    expect((sent!.body as { model: string }).model).toBe("gpt-4o-mini");
    const [event] = await app.flushEvents();
    expect(event!.attempts[0]!.model).toBe("gpt-4o-mini");
    const expected = pricing.cost({ provider: "openai", model: "gpt-4o-mini", usage: usageOf(event!) });
    expect(event!.cost?.total).toBe(expected.cost!.total);
  });
});

describe("model_name '*' (catch-all)", () => {
  it("routes a bare name to the catch-all deployment: gpt-4.1 → openai gpt-4.1", async () => {
    await client.chat.completions.create({ model: "gpt-4.1", messages: [{ role: "user", content: "hi" }] });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.scenario).toBe("any");
    expect((sent!.body as { model: string }).model).toBe("gpt-4.1");
    const [event] = await app.flushEvents();
    expect(event).toMatchObject({ modelGroup: "gpt-4.1", provider: "openai" });
    const expected = pricing.cost({ provider: "openai", model: "gpt-4.1", usage: usageOf(event!) });
    expect(expected.cost).not.toBeNull();
    expect(event!.cost?.total).toBe(expected.cost!.total);
  });

  it("the more specific pattern wins: openai/x goes to openai/*, not *", async () => {
    await client.chat.completions.create({ model: "openai/o3", messages: [{ role: "user", content: "hi" }] });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.scenario).toBeUndefined();
    expect((sent!.body as { model: string }).model).toBe("o3");
  });

  it("an exact model_name wins over the patterns", async () => {
    await client.chat.completions.create({ model: "fixed", messages: [{ role: "user", content: "hi" }] });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.scenario).toBe("fixed");
    expect((sent!.body as { model: string }).model).toBe("gpt-4o");
  });

  it("an alias may point at a wildcard name; fallbacks may name one", async () => {
    await client.chat.completions.create({ model: "smart", messages: [{ role: "user", content: "hi" }] });
    const [sent] = await mock.waitForRequests(1);
    expect((sent!.body as { model: string }).model).toBe("gpt-4o");
    mock.scenario("fixed", { status: 500 });
    await client.chat.completions.create({ model: "fixed", messages: [{ role: "user", content: "hi" }] });
    const [event] = await app.flushEvents().then((events) => events.slice(-1));
    // fixed failed (500, retried), then fell back to openai/gpt-4o-mini through the openai/* pattern.
    expect(event).toMatchObject({ status: "success", modelGroup: "openai/gpt-4o-mini", fallbacks: 1 });
    expect(event!.attempts.at(-1)!.model).toBe("gpt-4o-mini");
  });

  it("a failing concrete model cools down alone (its deployment id carries the model)", async () => {
    // A gateway with LiteLLM's default cooldown (a 404 cools the deployment for cooldown_time).
    const own = await startTestGateway({
      model_list: [
        { model_name: "*", litellm_params: { model: "openai/*", api_base: `${mock.scenarioUrl("any")}/v1` } },
      ],
      router_settings: { cooldown_time: 60 },
    });
    try {
      mock.scenario("any", (request) =>
        (request.body as { model?: string }).model === "no-such-model" ? { status: 404 } : undefined,
      );
      const ownClient = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: "unused", maxRetries: 0 });
      await expect(
        ownClient.chat.completions.create({
          model: "no-such-model",
          messages: [{ role: "user", content: "x" }],
        }),
      ).rejects.toThrow(/404/);
      const [failed] = await own.flushEvents();
      expect(failed).toMatchObject({ status: "failure", modelGroup: "no-such-model" });
      expect(failed!.attempts[0]).toMatchObject({
        deploymentId: "*-0:no-such-model",
        model: "no-such-model",
      });
      const cooling = own.gateway.router.coolingDeployments().map((entry) => entry.deployment.id);
      expect(cooling).toEqual(["*-0:no-such-model"]);
      // Another model through the same '*' deployment still works.
      const ok = await ownClient.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "x" }],
      });
      expect(ok.choices[0]!.message.content).toBeTruthy();
    } finally {
      await own.close();
    }
  });
});

describe("/v1/models with wildcard groups", () => {
  it("lists exact groups, visible aliases and what each pattern can serve (models the price files know)", async () => {
    const page = await client.models.list();
    const ids = page.data.map((model) => model.id);
    // Sent GET /v1/models; came back the exact group, the alias, openai/<model> and <model> names.
    expect(ids).toContain("fixed");
    expect(ids).toContain("smart");
    expect(ids).not.toContain("secret");
    expect(ids).toContain("openai/gpt-4o");
    expect(ids).toContain("gpt-4o");
    expect(ids).not.toContain("openai/*");
    expect(ids).not.toContain("*");
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("a hidden alias still routes", async () => {
    await client.chat.completions.create({ model: "secret", messages: [{ role: "user", content: "hi" }] });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.scenario).toBe("fixed");
  });
});

describe("config checks for wildcards", () => {
  it("a '*' in litellm_params.model needs a pattern in model_name", () => {
    expect(() =>
      resolveConfig({ model_list: [{ model_name: "gpt", litellm_params: { model: "openai/*" } }] }),
    ).toThrow(/has a '\*' but model_name has none/);
  });

  it("fallbacks to a name no group or pattern matches are still an error", () => {
    expect(() =>
      resolveConfig({
        model_list: [{ model_name: "openai/*", litellm_params: { model: "openai/*" } }],
        router_settings: { fallbacks: [{ "openai/gpt-4o": ["anthropic/claude"] }] },
      }),
    ).toThrow(/unknown model group 'anthropic\/claude'/);
  });
});
