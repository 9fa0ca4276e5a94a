/**
 * Claude Code 2.1 as it is today. `fixtures/claude-code-request.json` is the structure of a request the
 * real CLI (`claude -p`, @anthropic-ai/claude-code 2.1.197) sent to a recording server on 127.0.0.1
 * (prompt text replaced by its length): POST /v1/messages?beta=true with a list of anthropic-beta
 * flags, a `role: "system"` message after the user turn, `thinking: {type: "adaptive"}`,
 * `context_management` edits and `output_config.effort`. The fixture is sent to the gateway (real
 * HTTP) and must pass unchanged to an Anthropic deployment (beta headers included) and be translated
 * for an OpenAI one (the system message kept in place, effort mapped to reasoning_effort, the
 * Anthropic-only fields dropped).
 */
import { readFileSync } from "node:fs";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";
import { messagesToChatRequest } from "./messages-to-chat-request";
import type { AnthropicRequest } from "./types";

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/claude-code-request.json", import.meta.url), "utf8"),
) as {
  url: string;
  headers: Record<string, string>;
  body: AnthropicRequest;
};
const KEY = "sk-master-claude-code-0123456789";

let mock: MockProvider;
let app: TestGateway;

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway({
    model_list: [
      {
        model_name: "claude-opus-4-8",
        litellm_params: {
          model: "anthropic/claude-opus-4-8",
          api_base: mock.scenarioUrl("a"),
          api_key: "sk-ant-x",
        },
      },
      {
        model_name: "gpt-5",
        litellm_params: {
          model: "openai/gpt-5",
          api_base: `${mock.scenarioUrl("o")}/v1`,
          api_key: "sk-oa-x",
        },
      },
    ],
    general_settings: { master_key: KEY },
  });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

function send(model: string) {
  return fetch(`${app.url}${fixture.url}`, {
    method: "POST",
    headers: { ...fixture.headers, "x-api-key": KEY, "accept-encoding": "identity" },
    body: JSON.stringify({ ...fixture.body, model }),
  });
}

describe("Claude Code 2.1 requests", () => {
  it("the recorded request has the shape the issue describes", () => {
    expect(fixture.url).toBe("/v1/messages?beta=true");
    expect(fixture.body.messages.map((message) => message.role)).toEqual(["user", "system"]);
    expect(fixture.body.thinking).toEqual({ type: "adaptive" });
    expect(fixture.body.output_config).toEqual({ effort: "high" });
    expect(fixture.headers["anthropic-beta"]).toContain("mid-conversation-system-2026-04-07");
  });

  it("passes unchanged to an Anthropic deployment, beta headers included (streamed)", async () => {
    mock.clear();
    const response = await send("claude-opus-4-8");
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).toContain("event: message_stop");
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/messages");
    const { metadata: _sentMetadata, ...sent } = fixture.body;
    const { metadata, ...received } = upstream!.body as Record<string, unknown>;
    expect(received).toEqual({ ...sent, model: "claude-opus-4-8" });
    expect(metadata).toEqual(fixture.body.metadata);
    const betas = String(upstream!.headers["anthropic-beta"]).split(",");
    expect(betas).toEqual(fixture.headers["anthropic-beta"]!.split(","));
  });

  it("is translated for an OpenAI deployment: system message in place, effort → reasoning_effort", async () => {
    mock.clear();
    const response = await send("gpt-5");
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).toContain("event: message_stop");
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.path).toBe("/v1/chat/completions");
    const body = upstream!.body as Record<string, unknown>;
    const roles = (body.messages as Array<{ role: string }>).map((message) => message.role);
    expect(roles).toEqual(["system", "user", "system"]);
    expect(body.reasoning_effort).toBe("high");
    expect(body.thinking).toBeUndefined();
    expect(body.context_management).toBeUndefined();
    expect(body.output_config).toBeUndefined();
    expect((body.tools as unknown[]).length).toBe(
      fixture.body.tools && (fixture.body.tools as unknown[]).length,
    );
  });
});

describe("thinking and effort for providers without them", () => {
  const base: AnthropicRequest = { model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
  it("maps output_config.effort and thinking budgets, and nothing when thinking is off", () => {
    expect(messagesToChatRequest({ ...base, output_config: { effort: "max" } }).reasoning_effort).toBe(
      "high",
    );
    expect(messagesToChatRequest({ ...base, output_config: { effort: "low" } }).reasoning_effort).toBe("low");
    expect(
      messagesToChatRequest({ ...base, thinking: { type: "enabled", budget_tokens: 1024 } }).reasoning_effort,
    ).toBe("low");
    expect(
      messagesToChatRequest({ ...base, thinking: { type: "adaptive" } }).reasoning_effort,
    ).toBeUndefined();
    expect(
      messagesToChatRequest({ ...base, thinking: { type: "disabled" }, output_config: { effort: "high" } })
        .reasoning_effort,
    ).toBeUndefined();
  });

  it("keeps a system message with text blocks where it is", () => {
    const request = messagesToChatRequest({
      ...base,
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
        { role: "system", content: [{ type: "text", text: "be brief" }] },
      ],
    });
    expect(request.messages).toEqual([
      { role: "user", content: "a" },
      { role: "assistant", content: "b" },
      { role: "system", content: [{ type: "text", text: "be brief" }] },
    ]);
  });
});
