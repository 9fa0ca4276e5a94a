/**
 * chatBodySurelyValid lets common valid chat bodies skip zod; it must never pass a body the schema
 * refuses (the refusal and its message are the schema's). Checked over valid bodies (each must pass
 * both) and over each of them with one field broken in many ways (the quick check may pass it only
 * where the schema does).
 */
import { describe, expect, it } from "vitest";
import { chatBodySurelyValid } from "./chat-shape-check";
import { chatRequestSchema } from "./request-schemas";

const valid: Array<Record<string, unknown>> = [
  { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] },
  {
    model: "gpt-4o",
    messages: [
      { role: "system", content: "You are a concise assistant." },
      { role: "user", content: "Say hello." },
    ],
    temperature: 0.2,
    stream: true,
    stream_options: { include_usage: true },
  },
  {
    model: "m",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "x" },
          { type: "image_url", image_url: { url: "u" } },
        ],
      },
      { role: "assistant", content: null, tool_calls: [{ id: "1", type: "function", function: {} }] },
      { role: "tool", content: "r", tool_call_id: "1", name: "f" },
    ],
    tools: [{ type: "function", function: { name: "f", parameters: {} } }, { type: "web_search" }],
    tool_choice: "auto",
    stop: ["a", "b"],
    n: 1,
    max_tokens: 10,
    max_completion_tokens: null,
    seed: 7,
    top_p: 1,
    presence_penalty: 0,
    frequency_penalty: -1.5,
    user: "u",
    response_format: { type: "json_object" },
    logit_bias: { "1": 2 },
    metadata: { a: "b" },
    extra_field: { anything: [1, "x"] },
  },
  { model: "m", messages: [{ role: "user", content: "x" }], stop: "END", tool_choice: { type: "none" } },
];

/** Values of every kind, for breaking one field at a time. */
const anything: unknown[] = [
  undefined,
  null,
  0,
  1.5,
  -3,
  2 ** 60,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "x",
  true,
  false,
  [],
  [1],
  ["x"],
  [{}],
  [{ type: "text" }],
  [{ type: 5 }],
  [null],
  {},
  { type: "t" },
  { type: "t", function: { name: "f" } },
  { type: "t", function: null },
  { type: "t", function: { name: 1 } },
  { role: "user" },
  { role: "" },
  { role: "user", content: 5 },
];

const fields = [
  "model",
  "messages",
  "stream",
  "stream_options",
  "temperature",
  "top_p",
  "n",
  "max_tokens",
  "max_completion_tokens",
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "stop",
  "user",
  "tools",
  "tool_choice",
  "response_format",
  "logit_bias",
  "metadata",
];
const messageFields = ["role", "content", "name", "tool_calls", "tool_call_id"];

describe("chatBodySurelyValid", () => {
  it("passes the common valid bodies (which the schema passes too)", () => {
    for (const body of valid) {
      expect(chatRequestSchema.safeParse(body).success).toBe(true);
      expect(chatBodySurelyValid(body)).toBe(true);
    }
  });

  it("never passes a body the schema refuses: every field and message field broken every way", () => {
    let refused = 0;
    const check = (body: Record<string, unknown>) => {
      const schemaPasses = chatRequestSchema.safeParse(body).success;
      if (!schemaPasses) refused++;
      if (chatBodySurelyValid(body)) expect({ body, schemaPasses }).toEqual({ body, schemaPasses: true });
    };
    for (const base of valid) {
      for (const field of fields) for (const value of anything) check({ ...base, [field]: value });
      for (const field of messageFields)
        for (const value of anything) {
          const messages = (base.messages as Array<Record<string, unknown>>).map((message, index) =>
            index === 0 ? { ...message, [field]: value } : message,
          );
          check({ ...base, messages });
        }
      for (const value of anything) check({ ...base, messages: [...(base.messages as unknown[]), value] });
      for (const value of anything) check({ ...base, tools: [value] });
    }
    // the corpus does hold many refused bodies
    expect(refused).toBeGreaterThan(500);
  });
});
