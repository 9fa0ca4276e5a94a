/**
 * Bedrock end to end through the gateway against the @llmux/testing mock (which checks every SigV4
 * signature and session token): Claude on Bedrock through /v1/messages with tools and extended
 * thinking, streamed (InvokeModelWithResponseStream) and not (InvokeModel); chat completions over
 * ConverseStream and InvokeModelWithResponseStream; cross-region inference profiles (us., eu.,
 * global.) priced at their own rates; a client's 4xx never cools the deployment.
 */
import Anthropic from "@anthropic-ai/sdk";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../provider-test-support";

const KEYS = {
  accessKeyId: "ASIATEMPORARYKEY",
  secretAccessKey: "temporary-secret",
  sessionToken: "session-xyz",
};
const AWS = {
  aws_access_key_id: KEYS.accessKeyId,
  aws_secret_access_key: KEYS.secretAccessKey,
  aws_session_token: KEYS.sessionToken,
  aws_region_name: "us-east-1",
};
const SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const WEATHER_TOOL = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] },
};

let mock: MockProvider;
let app: TestGateway;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider({ bedrockCredentials: KEYS });
  const deployment = (name: string, model: string, scenario: string) => ({
    model_name: name,
    litellm_params: { model, api_base: mock.scenarioUrl(scenario), ...AWS },
  });
  app = await startTestGateway({
    model_list: [
      deployment("claude", `bedrock/invoke/us.${SONNET}`, "claude"),
      deployment("claude-converse", `bedrock/us.${SONNET}`, "converse"),
      deployment("sonnet-us", `bedrock/us.${SONNET}`, "us"),
      deployment("sonnet-eu", `bedrock/eu.${SONNET}`, "eu"),
      deployment("sonnet-global", `bedrock/global.${SONNET}`, "global"),
      deployment("sonnet-plain", `bedrock/${SONNET}`, "plain"),
    ],
    router_settings: { allowed_fails: 1, num_retries: 0 },
  });
  anthropic = new Anthropic({ baseURL: app.url, apiKey: "unused", maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

beforeEach(() => mock.clear());

describe("Claude on Bedrock through /v1/messages", () => {
  it("tools and thinking, not streamed: InvokeModel with the Anthropic body, thinking and tool_use back", async () => {
    mock.scenario("claude", { toolCall: { name: "get_weather", arguments: '{"city":"Rome"}' } });
    const message = await anthropic.messages.create({
      model: "claude",
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [WEATHER_TOOL],
      messages: [{ role: "user", content: "Weather in Rome?" }],
    });
    // Came back: a thinking block (with its signature) then the tool call.
    expect(message.content.map((block) => block.type)).toEqual(["thinking", "tool_use"]);
    const thinking = message.content[0] as { thinking: string; signature: string };
    expect(thinking.thinking.length).toBeGreaterThan(0);
    expect(thinking.signature.length).toBeGreaterThan(0);
    expect(message.content[1]).toMatchObject({ name: "get_weather", input: { city: "Rome" } });
    expect(message.stop_reason).toBe("tool_use");
    // Sent: InvokeModel on the us. profile, Bedrock's anthropic_version, thinking and tools as given.
    const upstream = mock.requests[0]!;
    expect(upstream.path).toBe(`/model/${encodeURIComponent(`us.${SONNET}`)}/invoke`);
    expect(upstream.body.anthropic_version).toBe("bedrock-2023-05-31");
    expect(upstream.body.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
    expect(upstream.body.tools[0].name).toBe("get_weather");
    expect(upstream.body.model).toBeUndefined();
    expect(upstream.headers["x-amz-security-token"]).toBe(KEYS.sessionToken);
  });

  it("tools and thinking, streamed: InvokeModelWithResponseStream events relayed as Anthropic SSE", async () => {
    mock.scenario("claude", { toolCall: { name: "get_weather", arguments: '{"city":"Paris"}' } });
    const stream = anthropic.messages.stream({
      model: "claude",
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [WEATHER_TOOL],
      messages: [{ role: "user", content: "Weather in Paris?" }],
    });
    const deltas: string[] = [];
    stream.on("streamEvent", (event) => {
      if (event.type === "content_block_delta") deltas.push(event.delta.type);
    });
    const message = await stream.finalMessage();
    expect(new Set(deltas)).toEqual(new Set(["thinking_delta", "signature_delta", "input_json_delta"]));
    expect(message.content.map((block) => block.type)).toEqual(["thinking", "tool_use"]);
    expect(message.content[1]).toMatchObject({ name: "get_weather", input: { city: "Paris" } });
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(mock.requests[0]!.path).toBe(
      `/model/${encodeURIComponent(`us.${SONNET}`)}/invoke-with-response-stream`,
    );
  });

  it("plain text, streamed and not", async () => {
    const plain = await anthropic.messages.create({
      model: "claude",
      max_tokens: 256,
      messages: [{ role: "user", content: "Say something." }],
    });
    expect(plain.content.map((block) => block.type)).toEqual(["text"]);
    const streamed = await anthropic.messages
      .stream({ model: "claude", max_tokens: 256, messages: [{ role: "user", content: "Say something." }] })
      .finalMessage();
    expect((streamed.content[0] as { text: string }).text).toBe((plain.content[0] as { text: string }).text);
  });
});

describe("chat completions over Bedrock streams", () => {
  it("ConverseStream (bedrock/) and InvokeModelWithResponseStream (bedrock/invoke/) give the same text", async () => {
    const collect = async (model: string) => {
      const stream = await openai.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Tell me a thing." }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage };
    };
    const converse = await collect("claude-converse");
    const invoke = await collect("claude");
    expect(converse.text.length).toBeGreaterThan(0);
    expect(invoke.text).toBe(converse.text);
    expect(invoke.usage?.completion_tokens).toBeGreaterThan(0);
    expect(converse.usage?.prompt_tokens).toBe(invoke.usage?.prompt_tokens);
    expect(mock.requests.map((request) => request.path.split("/").at(-1))).toEqual([
      "converse-stream",
      "invoke-with-response-stream",
    ]);
  });
});

describe("cross-region inference profiles", () => {
  it("us., eu. and global. ids are priced at their own rates, the bare (in-region) id at the regional rate", async () => {
    const usage = { prompt_tokens: 1000, completion_tokens: 100 };
    const cost = async (model: string) => {
      mock.scenario(model.replace("sonnet-", ""), { usage });
      const { response } = await openai.chat.completions
        .create({ model, messages: [{ role: "user", content: "price me" }] })
        .withResponse();
      return Number(response.headers.get("x-llmux-response-cost"));
    };
    // 1000 × input + 100 × output per token. Claude Sonnet 4.5 on Bedrock: the global profile costs
    // $3 / $15 per million; in-region and geographic (us., eu.) ones 10% more, $3.30 / $16.50.
    expect(await cost("sonnet-us")).toBeCloseTo(0.00495, 10);
    expect(await cost("sonnet-eu")).toBeCloseTo(0.00495, 10);
    expect(await cost("sonnet-global")).toBeCloseTo(0.0045, 10);
    expect(await cost("sonnet-plain")).toBeCloseTo(0.00495, 10);
  });
});

describe("cooldowns", () => {
  it("a client's bad request (400) never cools the deployment; the next good call goes through", async () => {
    mock.scenario("converse", { status: 400 });
    for (let attempt = 0; attempt < 3; attempt++) {
      const error = await openai.chat.completions
        .create({ model: "claude-converse", messages: [{ role: "user", content: "bad" }] })
        .catch((caught: unknown) => caught as { status: number });
      expect((error as { status: number }).status).toBe(400);
    }
    expect(app.gateway.readiness().cooling).toEqual([]);
    mock.scenario("converse", []);
    const completion = await openai.chat.completions.create({
      model: "claude-converse",
      messages: [{ role: "user", content: "good" }],
    });
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
  });

  it("for contrast, repeated 503s do cool it (allowed_fails: 1)", async () => {
    mock.scenario("converse", { status: 503 });
    for (let attempt = 0; attempt < 2; attempt++) {
      await openai.chat.completions
        .create({ model: "claude-converse", messages: [{ role: "user", content: "x" }] })
        .catch(() => undefined);
    }
    expect(app.gateway.readiness().cooling.map((entry) => entry.model_group)).toContain("claude-converse");
  });
});
