/**
 * Malformed bodies are the caller's 400 before routing (naming the field) and never reach an
 * upstream, so they cannot cool a deployment: real HTTP to the gateway, the @llmux/testing mock as
 * the upstream (it records every request it got).
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

let mock: MockProvider;
let app: TestGateway;

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway({
    model_list: [
      {
        model_name: "gpt",
        litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1`, api_key: "sk-u" },
      },
      {
        model_name: "claude",
        litellm_params: {
          model: "anthropic/claude-sonnet-4",
          api_base: mock.scenarioUrl("anthropic"),
          api_key: "sk-a",
        },
      },
    ],
    router_settings: { allowed_fails: 1, num_retries: 0 },
  });
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
  return {
    status: response.status,
    json: (await response.json()) as { error: Record<string, unknown> } & Record<string, unknown>,
  };
}

describe("request validation before routing", () => {
  it("chat: content 5 → 400 naming messages.0.content, nothing sent upstream, the group stays healthy", async () => {
    mock.clear();
    for (let index = 0; index < 3; index++) {
      const bad = await post("/v1/chat/completions", {
        model: "gpt",
        messages: [{ role: "user", content: 5 }],
      });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatchObject({ param: "messages.0.content", type: "invalid_request_error" });
      expect(String(bad.json.error.message)).toContain("messages.0.content");
    }
    expect(mock.requests).toHaveLength(0);
    const good = await post("/v1/chat/completions", {
      model: "gpt",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(good.status).toBe(200);
    expect(app.gateway.readiness().cooling).toEqual([]);
  });

  it("embeddings: input {} → 400 naming input", async () => {
    const bad = await post("/v1/embeddings", { model: "gpt", input: { text: "x" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe("input");
  });

  it("messages: content 5 → Anthropic-shaped 400 naming messages.0.content", async () => {
    mock.clear();
    const bad = await post("/v1/messages", {
      model: "claude",
      max_tokens: 10,
      messages: [{ role: "user", content: 5 }],
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(String(bad.json.error.message)).toContain("messages.0.content");
    expect(mock.requests).toHaveLength(0);
  });
});
