/**
 * The `azure/` provider end to end: the openai SDK → the gateway (real HTTP, port 0) → the
 * @llmux/testing mock's Azure OpenAI routes (/openai/deployments/{deployment}/...). Checks the URL,
 * api-version, the api-key header or Entra ID bearer, streaming, tools, embeddings and retries.
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../provider-test-support";

const AZURE_KEY = "azure-key-0123456789abcdef";
const AD_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-token";

let mock: MockProvider;
let app: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway({
    model_list: [
      {
        model_name: "gpt-4o",
        litellm_params: {
          model: "azure/my-gpt4o-deployment",
          api_base: mock.scenarioUrl("azure"),
          api_key: AZURE_KEY,
          api_version: "2024-10-21",
          input_cost_per_token: 0.0000025,
          output_cost_per_token: 0.00001,
        },
      },
      {
        model_name: "gpt-4o-entra",
        litellm_params: {
          model: "azure/my-gpt4o-deployment",
          api_base: `${mock.url}/openai`,
          azure_ad_token: AD_TOKEN,
        },
      },
      {
        model_name: "embedder",
        litellm_params: { model: "azure/my-embedding-deployment", api_base: mock.url, api_key: AZURE_KEY },
      },
    ],
    router_settings: { num_retries: 2, retry_after: 0.001, cooldown_time: 0, allowed_fails: 100 },
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

describe("azure/", () => {
  it("calls {api_base}/openai/deployments/{deployment}/chat/completions?api-version= with the api-key header", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Hello Azure" }] })
      .withResponse();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/openai/deployments/my-gpt4o-deployment/chat/completions");
    expect(upstream!.query).toEqual({ "api-version": "2024-10-21" });
    expect(upstream!.headers["api-key"]).toBe(AZURE_KEY);
    expect(upstream!.headers.authorization).toBeUndefined();
    expect(data.choices[0]!.message.content).toMatch(/^Mock reply:/);
    expect(response.headers.get("x-llmux-provider")).toBe("azure");
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBeGreaterThan(0);
  });

  it("uses an Entra ID bearer token (azure_ad_token) and the default api-version", async () => {
    await client.chat.completions.create({
      model: "gpt-4o-entra",
      messages: [{ role: "user", content: "x" }],
    });
    const [upstream] = await mock.waitForRequests(1);
    // api_base given with the /openai suffix works as well.
    expect(upstream!.path).toBe("/openai/deployments/my-gpt4o-deployment/chat/completions");
    expect(upstream!.headers.authorization).toBe(`Bearer ${AD_TOKEN}`);
    expect(upstream!.headers["api-key"]).toBeUndefined();
    expect(upstream!.query["api-version"]).toBe("2024-10-21");
  });

  it("streams, with the usage chunk when asked", async () => {
    mock.scenario("azure", { content: "streaming from azure" });
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream" }],
    });
    let text = "";
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      last = chunk;
    }
    expect(text).toBe("streaming from azure");
    expect(last!.usage!.completion_tokens).toBe(3);
  });

  it("passes tools and returns tool calls", async () => {
    mock.scenario("azure", { toolCall: { name: "get_time", arguments: '{"tz":"UTC"}' } });
    const completion = await client.chat.completions.create({
      model: "gpt-4o",
      tools: [{ type: "function", function: { name: "get_time", parameters: { type: "object" } } }],
      messages: [{ role: "user", content: "Time?" }],
    });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.tools[0].function.name).toBe("get_time");
    const call = completion.choices[0]!.message.tool_calls![0]!;
    expect(call.type === "function" && call.function.arguments).toBe('{"tz":"UTC"}');
  });

  it("serves embeddings from the deployment's embeddings path", async () => {
    const result = await client.embeddings.create({ model: "embedder", input: ["a", "b"] });
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/openai/deployments/my-embedding-deployment/embeddings");
    expect(result.data).toHaveLength(2);
  });

  it("retries Azure's 429 and answers on the third attempt", async () => {
    mock.scenario("azure", [{ status: 429, retryAfterMs: 1 }, { status: 500 }]);
    const { response } = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "retry" }] })
      .withResponse();
    expect(mock.requests).toHaveLength(3);
    expect(response.headers.get("x-llmux-attempts")).toBe("3");
  });
});
