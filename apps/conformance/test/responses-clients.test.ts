/**
 * POST /v1/responses with the clients people use, unchanged: the official `openai` client
 * (responses.create, responses.stream), the Vercel AI SDK's default OpenAI provider (`openai(model)`
 * calls the Responses API: generateText, streamText, tools) and LangChain's ChatOpenAI with
 * useResponsesApi. The gateway (real HTTP on 127.0.0.1, port 0) routes to an OpenAI-compatible
 * server without the Responses API (the @llmux/testing mock), so every call goes through the
 * Responses ⇄ chat translation. Each test says what the client sent and what came back.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOpenAI } from "@ai-sdk/openai";
import { HumanMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { createGateway, createHandler, type Gateway } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const KEY = "sk-responses-clients-0123456789";
const PRICES = { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 };

let mock: MockProvider;
let gateway: Gateway;
let server: Server;
let baseURL: string;

beforeAll(async () => {
  mock = await startMockProvider();
  gateway = createGateway({
    config: {
      model_list: [
        {
          model_name: "compat",
          litellm_params: {
            model: "openai/llama-3",
            api_base: `${mock.url}/v1`,
            api_key: "sk-up",
            ...PRICES,
          },
        },
        {
          model_name: "tools",
          litellm_params: {
            model: "openai/llama-3",
            api_base: `${mock.scenarioUrl("tools")}/v1`,
            api_key: "sk-up",
            ...PRICES,
          },
        },
      ],
      general_settings: { master_key: KEY },
    },
    quietOpenWarning: true,
  });
  const handler = createHandler(gateway);
  server = createServer((request, response) => {
    handler(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await gateway?.shutdown();
  await mock?.close();
});

const weatherParameters = {
  type: "object" as const,
  properties: { city: { type: "string" as const } },
  required: ["city"],
  additionalProperties: false,
};

describe("openai client", () => {
  it("responses.create returns output_text and usage", async () => {
    const client = new OpenAI({ baseURL, apiKey: KEY, maxRetries: 0 });
    const response = await client.responses.create({
      model: "compat",
      instructions: "Be brief.",
      input: "Hello",
    });
    expect(response.object).toBe("response");
    expect(response.output_text.length).toBeGreaterThan(0);
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
  });

  it("responses.stream emits text deltas and a final response equal to them", async () => {
    const client = new OpenAI({ baseURL, apiKey: KEY, maxRetries: 0 });
    const stream = client.responses.stream({ model: "compat", input: "Stream this" });
    let text = "";
    stream.on("response.output_text.delta", (event) => {
      text += event.delta;
    });
    const final = await stream.finalResponse();
    expect(text.length).toBeGreaterThan(0);
    expect(final.output_text).toBe(text);
    expect(final.status).toBe("completed");
    expect(final.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("function tools: a function_call, then its output continued through previous_response_id", async () => {
    const client = new OpenAI({ baseURL, apiKey: KEY, maxRetries: 0 });
    mock.scenario("tools", [{ toolCall: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
    const tools: OpenAI.Responses.Tool[] = [
      { type: "function", name: "get_weather", parameters: weatherParameters, strict: true },
    ];
    const first = await client.responses.create({ model: "tools", input: "Weather in Paris?", tools });
    const call = first.output.find((item) => item.type === "function_call");
    expect(call?.type === "function_call" && [call.name, JSON.parse(call.arguments)]).toEqual([
      "get_weather",
      { city: "Paris" },
    ]);
    const second = await client.responses.create({
      model: "tools",
      previous_response_id: first.id,
      input: [
        {
          type: "function_call_output",
          call_id: call!.type === "function_call" ? call!.call_id : "",
          output: "18C",
        },
      ],
      tools,
    });
    expect(second.output_text.length).toBeGreaterThan(0);
    expect(second.previous_response_id).toBe(first.id);
  });
});

describe("Vercel AI SDK, default OpenAI provider (Responses API)", () => {
  const provider = () => createOpenAI({ baseURL, apiKey: KEY });

  it("generateText", async () => {
    const result = await generateText({ model: provider()("compat"), prompt: "Hello", maxRetries: 0 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.response.id).toMatch(/^resp_/);
  });

  it("streamText", async () => {
    const result = streamText({ model: provider()("compat"), prompt: "Stream please", maxRetries: 0 });
    let text = "";
    for await (const delta of result.textStream) text += delta;
    expect(text.length).toBeGreaterThan(0);
    expect(await result.text).toBe(text);
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
    expect(await result.finishReason).toBe("stop");
  });

  it("a second turn with the first turn's response messages (item_reference to items the gateway stored)", async () => {
    const model = provider()("compat");
    const history = [{ role: "user" as const, content: "Hello" }];
    const first = await generateText({ model, messages: history, maxRetries: 0 });
    mock.clear();
    const second = await generateText({
      model,
      messages: [...history, ...first.response.messages, { role: "user", content: "And again" }],
      maxRetries: 0,
    });
    expect(second.text.length).toBeGreaterThan(0);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.messages).toEqual([
      { role: "user", content: "Hello" },
      { role: "assistant", content: first.text },
      { role: "user", content: "And again" },
    ]);
  });

  it("tools: the model calls the tool, the SDK runs it and sends the result back", async () => {
    mock.scenario("tools", [{ toolCall: { name: "weather", arguments: '{"city":"Paris"}' } }]);
    const seen: string[] = [];
    const result = await generateText({
      model: provider()("tools"),
      prompt: "Weather in Paris?",
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        weather: tool({
          description: "Weather for a city",
          inputSchema: jsonSchema<{ city: string }>(weatherParameters),
          execute: async ({ city }) => {
            seen.push(city);
            return `18C in ${city}`;
          },
        }),
      },
    });
    expect(seen).toEqual(["Paris"]);
    expect(result.steps.length).toBe(2);
    expect(result.steps[0]!.toolCalls[0]!.toolName).toBe("weather");
    expect(result.text.length).toBeGreaterThan(0);
  });
});

describe("LangChain ChatOpenAI with useResponsesApi", () => {
  const model = (name = "compat") =>
    new ChatOpenAI({
      model: name,
      apiKey: KEY,
      configuration: { baseURL },
      useResponsesApi: true,
      maxRetries: 0,
    });

  it("invoke", async () => {
    const message = await model().invoke([new HumanMessage("Hello")]);
    expect(typeof message.content === "string" ? message.content : message.text).not.toBe("");
    expect(message.usage_metadata?.input_tokens).toBeGreaterThan(0);
  });

  it("stream", async () => {
    let text = "";
    for await (const chunk of await model().stream("Stream please")) text += chunk.text;
    expect(text.length).toBeGreaterThan(0);
  });

  it("bindTools: the tool call comes back parsed", async () => {
    mock.scenario("tools", [{ toolCall: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
    const bound = model("tools").bindTools([
      {
        type: "function",
        function: { name: "get_weather", description: "Weather", parameters: weatherParameters },
      },
    ]);
    const message = await bound.invoke("Weather in Paris?");
    expect(message.tool_calls?.[0]).toMatchObject({ name: "get_weather", args: { city: "Paris" } });
  });
});
