/**
 * Request bodies checked against the OpenAI chat/embeddings and Anthropic messages shapes before
 * routing: what was sent, and the 400 (naming the field) or the pass that came back. Extra and newer
 * fields (Claude Code's context_management, output_config, adaptive thinking, mid-conversation system
 * messages) pass.
 */
import { isLlmuxError } from "@llmux/core";
import { describe, expect, it } from "vitest";
import claudeCodeRequest from "../anthropic-format/fixtures/claude-code-request.json";
import { validateRequest } from "./validate-request";

function failure(run: () => void): { param: string | null; message: string; status: number } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!isLlmuxError(error)) throw error;
    return { param: error.param, message: error.message, status: error.status };
  }
}

const user = { role: "user", content: "hi" };

describe("chat completions", () => {
  it("names the field of a bad value: content 5, a role that is not a string, a bad part", () => {
    expect(
      failure(() => validateRequest("chat", { model: "m", messages: [{ role: "user", content: 5 }] })),
    ).toEqual({
      status: 400,
      param: "messages.0.content",
      message: "messages.0.content: expected a string, an array of content parts or null",
    });
    expect(failure(() => validateRequest("chat", { model: "m", messages: [user, { role: 7 }] }))?.param).toBe(
      "messages.1.role",
    );
    expect(
      failure(() =>
        validateRequest("chat", { model: "m", messages: [{ role: "user", content: [{ text: "x" }] }] }),
      )?.param,
    ).toBe("messages.0.content");
    expect(failure(() => validateRequest("chat", { model: "m", messages: [] }))?.param).toBe("messages");
    expect(failure(() => validateRequest("chat", { messages: [user] }))?.param).toBe("model");
    expect(
      failure(() => validateRequest("chat", { model: "m", messages: [user], temperature: "hot" })),
    ).toEqual({
      status: 400,
      param: "temperature",
      message: "temperature: expected a number",
    });
    expect(
      failure(() => validateRequest("chat", { model: "m", messages: [user], stream: "yes" }))?.param,
    ).toBe("stream");
    expect(
      failure(() => validateRequest("chat", { model: "m", messages: [user], max_tokens: 1.5 }))?.param,
    ).toBe("max_tokens");
    expect(
      failure(() => validateRequest("chat", { model: "m", messages: [user], tools: [{ function: {} }] }))
        ?.param,
    ).toBe("tools.0.type");
  });

  it("passes valid bodies with nulls, tool calls, image parts and unknown extra fields", () => {
    expect(
      failure(() =>
        validateRequest("chat", {
          model: "m",
          messages: [
            { role: "developer", content: "be brief" },
            {
              role: "user",
              content: [
                { type: "text", text: "what is this" },
                { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
              ],
            },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
            },
            { role: "tool", tool_call_id: "c1", content: "42" },
          ],
          temperature: null,
          max_tokens: null,
          stop: ["\n"],
          stream: true,
          stream_options: { include_usage: true },
          tools: [{ type: "function", function: { name: "f", parameters: {} } }],
          tool_choice: "auto",
          reasoning_effort: "low",
          some_provider_extra: { anything: [1, 2] },
        }),
      ),
    ).toBeUndefined();
  });
});

describe("embeddings", () => {
  it("accepts strings, string arrays and token arrays; refuses empty or wrong input naming 'input'", () => {
    for (const input of ["hello", ["a", "b"], [1, 2, 3], [[1, 2], [3]]]) {
      expect(failure(() => validateRequest("embeddings", { model: "e", input }))).toBeUndefined();
    }
    for (const input of [undefined, "", [], 5, [{}], [[]]]) {
      expect(failure(() => validateRequest("embeddings", { model: "e", input }))?.param).toMatch(/^input/);
    }
    expect(
      failure(() => validateRequest("embeddings", { model: "e", input: "x", dimensions: "8" }))?.param,
    ).toBe("dimensions");
  });
});

describe("anthropic messages", () => {
  it("names the field: content 5, an unknown role, max_tokens missing", () => {
    expect(
      failure(() =>
        validateRequest("messages", { model: "c", max_tokens: 10, messages: [{ role: "user", content: 5 }] }),
      ),
    ).toEqual({
      status: 400,
      param: "messages.0.content",
      message: "messages.0.content: expected a string or an array of blocks",
    });
    expect(
      failure(() =>
        validateRequest("messages", {
          model: "c",
          max_tokens: 10,
          messages: [{ role: "robot", content: "x" }],
        }),
      )?.param,
    ).toBe("messages.0.role");
    expect(failure(() => validateRequest("messages", { model: "c", messages: [user] }))).toEqual({
      status: 400,
      param: "max_tokens",
      message: "max_tokens: Field required (an integer >= 1)",
    });
    // count_tokens has no max_tokens.
    expect(failure(() => validateRequest("count_tokens", { model: "c", messages: [user] }))).toBeUndefined();
    expect(
      failure(() => validateRequest("messages", { model: "c", max_tokens: 5, messages: [user], system: 3 }))
        ?.param,
    ).toBe("system");
  });

  it("passes Claude Code's own request (system mid-conversation, adaptive thinking, context_management)", () => {
    const recorded = (claudeCodeRequest as { body: Record<string, unknown> & { messages: unknown[] } }).body;
    expect(failure(() => validateRequest("messages", recorded))).toBeUndefined();
    const body = {
      ...recorded,
      messages: [
        ...recorded.messages,
        { role: "system", content: "A reminder in the middle of the conversation" },
        { role: "user", content: "go on" },
      ],
      thinking: { type: "adaptive" },
      context_management: { edits: [{ type: "clear_tool_uses_20250919" }] },
      output_config: { effort: "high" },
    };
    expect(failure(() => validateRequest("messages", body))).toBeUndefined();
  });
});
