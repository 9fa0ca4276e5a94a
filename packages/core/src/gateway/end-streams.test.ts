/**
 * A graceful stop ends the streams still running after the grace period with an in-band error,
 * in each API's own format, instead of cutting the connection: chat completions (an OpenAI error
 * object as the last data event), messages (Anthropic's `event: error`) and responses (an `error`
 * event). The client reads the stream to its end (no socket error) and the call is recorded as
 * ended by the gateway, not as the deployment's failure (no cooldown).
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

let mock: MockProvider;
let app: TestGateway;

beforeAll(async () => {
  mock = await startMockProvider();
  // 60 chunks, 100 ms apart: a stream far longer than the test
  mock.scenario("long", {
    content: Array.from({ length: 60 }, (_, index) => `word${index}`).join(" "),
    chunkDelayMs: 100,
  });
  app = await startTestGateway({
    model_list: [
      {
        model_name: "gpt",
        litellm_params: {
          model: "openai/gpt-4o",
          api_base: `${mock.scenarioUrl("long")}/v1`,
          api_key: "sk-up",
        },
      },
      {
        model_name: "claude",
        litellm_params: {
          model: "anthropic/claude-sonnet-4-20250514",
          api_base: mock.scenarioUrl("long"),
          api_key: "sk-ant-up",
        },
      },
    ],
  });
});
afterAll(async () => {
  await app?.close();
  await mock?.close();
});

/** Starts a stream, waits for its first bytes, ends every running stream, reads the rest. */
async function endMidStream(path: string, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${app.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value, { stream: true });
  expect(app.gateway.endStreams("The gateway is shutting down: test")).toBe(1);
  // to the end: a cut connection would reject here
  for (let part = await reader.read(); !part.done; part = await reader.read())
    text += decoder.decode(part.value, { stream: true });
  expect(text).not.toContain("word59");
  return text;
}

it("chat completions: the last event is an OpenAI error with code gateway_shutting_down", async () => {
  const text = await endMidStream("/v1/chat/completions", {
    model: "gpt",
    messages: [{ role: "user", content: "go" }],
  });
  const last = text.trim().split("\n\n").at(-1)!;
  expect(last).not.toBe("data: [DONE]");
  expect(JSON.parse(last.slice("data: ".length))).toMatchObject({
    error: { code: "gateway_shutting_down", message: "The gateway is shutting down: test" },
  });
  const [event] = (await app.flushEvents()).splice(0);
  expect(event).toMatchObject({ status: "failure", error: { type: "unavailable" } });
  expect(app.gateway.readiness().cooling).toEqual([]);
});

it("messages: an Anthropic error event", async () => {
  const text = await endMidStream("/v1/messages", {
    model: "claude",
    max_tokens: 100,
    messages: [{ role: "user", content: "go" }],
  });
  const last = text.trim().split("\n\n").at(-1)!;
  expect(last.startsWith("event: error\ndata: ")).toBe(true);
  expect(JSON.parse(last.split("\ndata: ")[1]!)).toMatchObject({
    type: "error",
    error: { message: "The gateway is shutting down: test" },
  });
  expect(app.gateway.readiness().cooling).toEqual([]);
});

it("responses: an error event", async () => {
  const text = await endMidStream("/v1/responses", { model: "gpt", input: "go" });
  const last = text.trim().split("\n\n").at(-1)!;
  expect(last).toContain('"type":"error"');
  expect(last).toContain("gateway_shutting_down");
  expect(app.gateway.readiness().cooling).toEqual([]);
});

it("with no stream running there is nothing to end", () => {
  expect(app.gateway.endStreams()).toBe(0);
});
