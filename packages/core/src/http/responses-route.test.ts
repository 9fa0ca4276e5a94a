/**
 * POST /v1/responses over real HTTP (port 0): translated for an OpenAI-compatible deployment served
 * by the @llmux/testing mock (chat completions), passed through unchanged to an OpenAI deployment
 * (`responses_api: native`, a recording Responses server in this file), and the built-in mock.
 * previous_response_id, store:false, function tools and tool results, the typed stream events and
 * the call event (callType "responses", usage, cost) are checked. Each test says what was sent and
 * what came back.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

const KEY = "sk-master-responses-0123456789";
// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in the assertions.
type Body = any;
const PRICES = { input_cost_per_token: 0.000002, output_cost_per_token: 0.000008 };

let mock: MockProvider;
let app: TestGateway;
let native: {
  server: Server;
  url: string;
  bodies: Array<Record<string, unknown>>;
  headers: IncomingMessage["headers"][];
};

const NATIVE_RESPONSE = {
  id: "resp_native_1",
  object: "response",
  created_at: 1,
  status: "completed",
  model: "gpt-5-2025",
  output: [
    {
      id: "msg_native",
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: "native answer", annotations: [] }],
    },
  ],
  usage: {
    input_tokens: 20,
    input_tokens_details: { cached_tokens: 5 },
    output_tokens: 7,
    output_tokens_details: { reasoning_tokens: 3 },
    total_tokens: 27,
  },
};

function startNativeUpstream() {
  const bodies: Array<Record<string, unknown>> = [];
  const headers: IncomingMessage["headers"][] = [];
  const server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      bodies.push(body);
      headers.push(request.headers);
      if (!body.stream) {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(NATIVE_RESPONSE));
        return;
      }
      response.writeHead(200, { "content-type": "text/event-stream" });
      const events = [
        {
          type: "response.created",
          sequence_number: 0,
          response: { ...NATIVE_RESPONSE, status: "in_progress", output: [], usage: null },
        },
        {
          type: "response.output_text.delta",
          sequence_number: 1,
          item_id: "msg_native",
          output_index: 0,
          content_index: 0,
          delta: "native answer",
        },
        { type: "response.completed", sequence_number: 2, response: NATIVE_RESPONSE },
      ];
      for (const event of events) response.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      response.end();
    });
  });
  return new Promise<typeof native>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        bodies,
        headers,
      }),
    ),
  );
}

beforeAll(async () => {
  mock = await startMockProvider();
  native = await startNativeUpstream();
  app = await startTestGateway({
    model_list: [
      {
        model_name: "compat",
        litellm_params: {
          model: "openai/llama-3",
          api_base: `${mock.scenarioUrl("compat")}/v1`,
          api_key: "sk-up",
          ...PRICES,
        },
      },
      {
        model_name: "gpt-5",
        litellm_params: {
          model: "openai/gpt-5",
          api_base: native.url,
          api_key: "sk-native-up",
          responses_api: "native",
          ...PRICES,
        },
      },
      { model_name: "mock", litellm_params: { model: "mock/echo", mock_response: "Hello from the mock." } },
    ],
    general_settings: { master_key: KEY },
  });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
  native?.server.close();
});

function post(body: unknown) {
  return fetch(`${app.url}/v1/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function parseSse(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text
    .split("\n\n")
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "{}") as Record<string, unknown>;
      return { event, data };
    });
}

describe("POST /v1/responses translated (OpenAI-compatible server without the Responses API)", () => {
  it("answers a string input with instructions as a Response with usage, and prices the call", async () => {
    mock.clear();
    const response = await post({
      model: "compat",
      instructions: "Be brief.",
      input: "Hi there",
      max_output_tokens: 50,
    });
    const body = (await response.json()) as Body;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.object).toBe("response");
    expect(body.id).toMatch(/^resp_/);
    expect(body.status).toBe("completed");
    expect(body.output[0].type).toBe("message");
    expect(body.output[0].content[0].type).toBe("output_text");
    expect(body.output[0].content[0].text.length).toBeGreaterThan(0);
    expect(body.usage.input_tokens).toBeGreaterThan(0);
    expect(body.usage.total_tokens).toBe(body.usage.input_tokens + body.usage.output_tokens);
    expect(response.headers.get("x-llmux-response-cost")).not.toBeNull();
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/chat/completions");
    expect(upstream!.body.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi there" },
    ]);
    expect(upstream!.body.max_tokens).toBe(50);
    const events = await app.flushEvents();
    const event = events.find((candidate) => candidate.callId === response.headers.get("x-llmux-call-id"));
    expect(event?.callType).toBe("responses");
    expect(event?.status).toBe("success");
    expect(event?.cost?.total).toBeGreaterThan(0);
  });

  it("returns a function_call item and takes its function_call_output back through previous_response_id", async () => {
    mock.clear();
    mock.scenario("compat", [{ toolCall: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
    const tools = [
      {
        type: "function",
        name: "get_weather",
        description: "Weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
      { type: "web_search" },
    ];
    const first = await post({ model: "compat", input: "Weather in Paris?", tools });
    const firstBody = (await first.json()) as Body;
    expect(first.status, JSON.stringify(firstBody)).toBe(200);
    const call = firstBody.output.find((item: { type: string }) => item.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris"}' });
    const [sent] = await mock.waitForRequests(1);
    expect(sent!.body.tools).toEqual([
      {
        type: "function",
        function: { name: "get_weather", description: "Weather", parameters: tools[0]!.parameters },
      },
    ]);
    mock.clear();
    const second = await post({
      model: "compat",
      previous_response_id: firstBody.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "18C and sunny" }],
      tools,
    });
    const secondBody = (await second.json()) as Body;
    expect(second.status, JSON.stringify(secondBody)).toBe(200);
    expect(secondBody.previous_response_id).toBe(firstBody.id);
    const [continued] = await mock.waitForRequests(1);
    expect(continued!.body.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: call.call_id,
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: call.call_id, content: "18C and sunny" },
    ]);
  });

  it("refuses an unknown previous_response_id with a clear 400, and never stores store:false responses", async () => {
    const unknown = await post({
      model: "compat",
      previous_response_id: "resp_does_not_exist",
      input: "more",
    });
    const error = (await unknown.json()) as { error: { message: string; param: string; code: string } };
    expect(unknown.status).toBe(400);
    expect(error.error.param).toBe("previous_response_id");
    expect(error.error.message).toContain("resp_does_not_exist");
    const unstored = (await (await post({ model: "compat", input: "one", store: false })).json()) as {
      id: string;
    };
    const next = await post({ model: "compat", previous_response_id: unstored.id, input: "two" });
    expect(next.status).toBe(400);
  });

  it("streams typed events from response.created to response.completed with usage and cost", async () => {
    const response = await post({ model: "compat", input: "Stream please", stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = parseSse(await response.text());
    const types = events.map((event) => event.event);
    expect(types[0]).toBe("response.created");
    expect(types[1]).toBe("response.in_progress");
    expect(types).toContain("response.output_item.added");
    expect(types).toContain("response.content_part.added");
    expect(types).toContain("response.output_text.delta");
    expect(types).toContain("response.output_text.done");
    expect(types).toContain("response.output_item.done");
    expect(types.at(-1)).toBe("response.completed");
    for (const [index, event] of events.entries()) {
      expect(event.data.type).toBe(event.event);
      expect(event.data.sequence_number).toBe(index);
    }
    const deltas = events
      .filter((event) => event.event === "response.output_text.delta")
      .map((event) => event.data.delta)
      .join("");
    const completed = events.at(-1)!.data.response as Body;
    expect(completed.output[0].content[0].text).toBe(deltas);
    expect(completed.usage.input_tokens).toBeGreaterThan(0);
    expect(completed.usage.output_tokens).toBeGreaterThan(0);
    expect(typeof completed.usage.cost).toBe("number");
  });
});

describe("POST /v1/responses passed through to an OpenAI deployment", () => {
  it("sends the client's body with only the model replaced, and returns OpenAI's Response as is", async () => {
    const body = {
      model: "gpt-5",
      input: [{ role: "user", content: [{ type: "input_text", text: "Hello" }] }],
      reasoning: { effort: "low" },
      include: ["reasoning.encrypted_content"],
      store: false,
    };
    const response = await post(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(NATIVE_RESPONSE);
    expect(native.bodies.at(-1)).toEqual({ ...body, model: "gpt-5", stream: false });
    expect(native.headers.at(-1)!.authorization).toBe("Bearer sk-native-up");
    expect(response.headers.get("x-llmux-provider")).toBe("openai");
  });

  it("forwards the upstream's stream events and continues a stored response by id on any deployment", async () => {
    const first = await post({ model: "gpt-5", input: "Remember 42", stream: true });
    const events = parseSse(await first.text());
    expect(events.map((event) => event.event)).toEqual([
      "response.created",
      "response.output_text.delta",
      "response.completed",
    ]);
    const completed = events.at(-1)!.data.response as Record<string, unknown>;
    expect((completed.usage as Record<string, unknown>).cost).toBeGreaterThan(0);
    // The stored conversation of the OpenAI response continues on the translated deployment.
    mock.clear();
    const second = await post({
      model: "compat",
      previous_response_id: "resp_native_1",
      input: "What number?",
    });
    expect(second.status).toBe(200);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.messages).toEqual([
      { role: "user", content: "Remember 42" },
      { role: "assistant", content: "native answer" },
      { role: "user", content: "What number?" },
    ]);
  });
});

describe("a Codex CLI request (structure recorded from @openai/codex 0.171.0)", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("../responses-format/fixtures/codex-request.json", import.meta.url), "utf8"),
  ) as { url: string; body: Body };

  it("is translated for a chat-only deployment: developer messages as system, namespace tools flattened, web_search dropped", async () => {
    mock.clear();
    const response = await post({ ...fixture.body, model: "compat" });
    expect(response.status).toBe(200);
    const events = parseSse(await response.text());
    expect(events.at(-1)!.event).toBe("response.completed");
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.messages.map((message: { role: string }) => message.role)).toEqual([
      "system",
      "system",
      "user",
      "user",
    ]);
    const names = upstream!.body.tools.map((tool: Body) => tool.function.name);
    const expected = fixture.body.tools.flatMap((tool: Body) =>
      tool.type === "function"
        ? [tool.name]
        : tool.type === "namespace"
          ? tool.tools.map((inner: Body) => inner.name)
          : [],
    );
    expect(names).toEqual(expected);
    expect(upstream!.body.parallel_tool_calls).toBe(true);
  });

  it("passes unchanged to an OpenAI deployment", async () => {
    const response = await post({ ...fixture.body, model: "gpt-5" });
    expect(response.status).toBe(200);
    await response.text();
    expect(native.bodies.at(-1)).toEqual({ ...fixture.body, model: "gpt-5" });
  });
});

describe("POST /v1/responses on the built-in mock", () => {
  it("answers with the mock's reply", async () => {
    const body = (await (await post({ model: "mock", input: "x" })).json()) as Body;
    expect(body.output[0].content[0].text).toBe("Hello from the mock.");
  });

  it("answers a body without a model with OpenAI's 400", async () => {
    const response = await post({ input: "x" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe("model");
  });
});
