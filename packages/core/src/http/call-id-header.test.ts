/**
 * Every answer of /v1/chat/completions and /v1/embeddings carries its call's `x-llmux-call-id`: the
 * route passes it in the headers it writes (no `setHeader` before `writeHead`) and sets it before an
 * error answer, whether the error came before the call (validation, unknown model, a beforeCall
 * hook) or from the upstream. Real HTTP to the gateway, the @llmux/testing mock as the upstream.
 */
import type { BeforeCallContext } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlmuxError } from "../errors/llmux-error";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let mock: MockProvider;
let app: TestGateway;
/** The call id each beforeCall hook saw, in order. */
const hookCallIds: string[] = [];

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway(
    {
      model_list: [
        {
          model_name: "gpt",
          litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1`, api_key: "sk-u" },
        },
        {
          model_name: "broken",
          litellm_params: { model: "openai/gpt-4o", api_base: mock.scenarioUrl("broken"), api_key: "sk-u" },
        },
        {
          model_name: "embed",
          litellm_params: {
            model: "openai/text-embedding-3-small",
            api_base: `${mock.url}/v1`,
            api_key: "sk-u",
          },
        },
      ],
      router_settings: { num_retries: 0 },
    },
    {
      hooks: [
        {
          beforeCall: (context: BeforeCallContext) => {
            hookCallIds.push(context.callId);
            if (context.body.user === "refused")
              throw new LlmuxError({ kind: "rate_limit", message: "refused by the hook" });
          },
        },
      ],
    },
  );
  mock.scenario("broken", { status: 500 });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

async function post(path: string, body: unknown) {
  const response = await fetch(`${app.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const callIds = response.headers.get("x-llmux-call-id");
  return { status: response.status, text, callId: callIds ?? "" };
}

const messages = [{ role: "user", content: "hello" }];

describe("x-llmux-call-id on the model routes", () => {
  it("a plain and a streamed answer carry the id of their call event (once)", async () => {
    const plain = await post("/v1/chat/completions", { model: "gpt", messages });
    const streamed = await post("/v1/chat/completions", { model: "gpt", messages, stream: true });
    const embedded = await post("/v1/embeddings", { model: "embed", input: "hello" });
    for (const answer of [plain, streamed, embedded]) {
      expect(answer.status).toBe(200);
      expect(answer.callId).toMatch(UUID);
    }
    expect(streamed.text).toContain("data: [DONE]");
    const events = await app.flushEvents();
    for (const answer of [plain, streamed, embedded])
      expect(events.filter((event) => event.callId === answer.callId)).toHaveLength(1);
    expect(new Set([plain.callId, streamed.callId, embedded.callId]).size).toBe(3);
  });

  it("errors before the call (validation, unknown model, a refusing hook) carry an id", async () => {
    const invalid = await post("/v1/chat/completions", {
      model: "gpt",
      messages: [{ role: "user", content: 5 }],
    });
    const unknown = await post("/v1/chat/completions", { model: "nope", messages });
    hookCallIds.length = 0;
    const refused = await post("/v1/chat/completions", { model: "gpt", messages, user: "refused" });
    expect([invalid.status, unknown.status, refused.status]).toEqual([400, 404, 429]);
    for (const answer of [invalid, unknown, refused]) expect(answer.callId).toMatch(UUID);
    // the id the hook saw is the one the client got
    expect(hookCallIds).toEqual([refused.callId]);
  });

  it("Anthropic's /v1/messages: plain, streamed and an unknown model carry an id (the writers add it, no setHeader)", async () => {
    const body = { model: "gpt", max_tokens: 16, messages };
    const plain = await post("/v1/messages", body);
    const streamed = await post("/v1/messages", { ...body, stream: true });
    const unknown = await post("/v1/messages", { ...body, model: "nope" });
    expect([plain.status, streamed.status, unknown.status]).toEqual([200, 200, 404]);
    for (const answer of [plain, streamed, unknown]) expect(answer.callId).toMatch(UUID);
    expect(streamed.text).toContain("event: message_stop");
    const events = await app.flushEvents();
    for (const answer of [plain, streamed])
      expect(events.filter((event) => event.callId === answer.callId)).toHaveLength(1);
  });

  it("an upstream failure carries the id of its failure event", async () => {
    const failed = await post("/v1/chat/completions", { model: "broken", messages });
    const failedStream = await post("/v1/chat/completions", { model: "broken", messages, stream: true });
    // the upstream's 500 is the gateway's 502
    expect([failed.status, failedStream.status]).toEqual([502, 502]);
    const events = await app.flushEvents();
    for (const answer of [failed, failedStream]) {
      expect(answer.callId).toMatch(UUID);
      expect(events.find((event) => event.callId === answer.callId)?.status).toBe("failure");
    }
  });
});
