import { z } from "zod";

/**
 * The request shapes llmux checks before routing: OpenAI chat completions and embeddings, Anthropic
 * messages. Only the types of the fields llmux and the upstreams rely on are checked; every object is
 * loose (unknown and newer fields pass through untouched: Claude Code's context_management,
 * output_config, adaptive thinking, provider-specific extras), and optional fields accept null where
 * SDKs send it. A failure names the field, e.g. `messages.0.content`.
 */

const number = (what: string) => z.number({ error: `expected ${what}` });
const optionalNumber = number("a number").nullish();
const optionalInteger = z.number({ error: "expected an integer" }).int("expected an integer").nullish();
const optionalBoolean = z.boolean({ error: "expected a boolean" }).nullish();
const optionalString = z.string({ error: "expected a string" }).nullish();
const looseRecord = (what: string) => z.looseObject({}, { error: `expected ${what}` });

const model = z.string({ error: "Field required (a string)" }).min(1, "Field required (a non-empty string)");

/** An OpenAI content part: `{ type: "text", text }`, `{ type: "image_url", ... }`, ... */
const contentPart = z.looseObject(
  { type: z.string({ error: "expected a string (the part's type)" }) },
  { error: "expected a content part object" },
);

const chatMessage = z.looseObject(
  {
    role: z.string({ error: "Field required (a string)" }).min(1, "Field required (a non-empty string)"),
    content: z
      .union([z.string(), z.array(contentPart)], {
        error: "expected a string, an array of content parts or null",
      })
      .nullish(),
    name: optionalString,
    tool_calls: z.array(looseRecord("a tool call object"), { error: "expected an array" }).nullish(),
    tool_call_id: optionalString,
  },
  { error: "expected a message object with a 'role'" },
);

const stop = z
  .union([z.string(), z.array(z.string())], { error: "expected a string or an array of strings" })
  .nullish();

const chatTool = z.looseObject(
  {
    type: z.string({ error: "Field required (a string)" }),
    function: z
      .looseObject(
        { name: z.string({ error: "Field required (a string)" }) },
        { error: "expected an object" },
      )
      .optional(),
  },
  { error: "expected a tool object" },
);

export const chatRequestSchema = z.looseObject({
  model,
  messages: z
    .array(chatMessage, { error: "Field required (a non-empty array of messages)" })
    .min(1, "Field required (a non-empty array of messages)"),
  stream: optionalBoolean,
  stream_options: looseRecord("an object").nullish(),
  temperature: optionalNumber,
  top_p: optionalNumber,
  n: optionalInteger,
  max_tokens: optionalInteger,
  max_completion_tokens: optionalInteger,
  presence_penalty: optionalNumber,
  frequency_penalty: optionalNumber,
  seed: optionalInteger,
  stop,
  user: optionalString,
  tools: z.array(chatTool, { error: "expected an array of tools" }).nullish(),
  tool_choice: z
    .union([z.string(), looseRecord("an object")], { error: "expected a string or an object" })
    .nullish(),
  response_format: looseRecord("an object").nullish(),
  logit_bias: looseRecord("an object").nullish(),
  metadata: looseRecord("an object").nullish(),
});

const embeddingInput = z.union(
  [
    z.string().min(1),
    z.array(z.string()).min(1),
    z.array(z.number()).min(1),
    z.array(z.array(z.number()).min(1)).min(1),
  ],
  {
    error:
      "Field required: a non-empty string, an array of strings, an array of token ids or an array of token arrays",
  },
);

export const embeddingsRequestSchema = z.looseObject({
  model,
  input: embeddingInput,
  encoding_format: optionalString,
  dimensions: optionalInteger,
  user: optionalString,
});

/** An Anthropic content block: `{ type: "text", text }`, `tool_use`, `tool_result`, `image`, `thinking`... */
const block = z.looseObject(
  { type: z.string({ error: "expected a string (the block's type)" }) },
  { error: "expected a content block object" },
);

const anthropicMessage = z.looseObject(
  {
    // Claude Code sends "system" messages mid-conversation; the translation handles them.
    role: z.enum(["user", "assistant", "system"], { error: "expected 'user', 'assistant' or 'system'" }),
    content: z.union([z.string(), z.array(block)], {
      error: "expected a string or an array of blocks",
    }),
  },
  { error: "expected a message object" },
);

const anthropicTool = z.looseObject(
  { name: z.string({ error: "Field required (a string)" }) },
  { error: "expected a tool object" },
);

const messagesFields = {
  model,
  messages: z
    .array(anthropicMessage, { error: "Field required (a non-empty array)" })
    .min(1, "Field required (a non-empty array)"),
  system: z
    .union([z.string(), z.array(block)], { error: "expected a string or an array of text blocks" })
    .nullish(),
  stream: optionalBoolean,
  temperature: optionalNumber,
  top_p: optionalNumber,
  top_k: optionalInteger,
  stop_sequences: z.array(z.string(), { error: "expected an array of strings" }).nullish(),
  tools: z.array(anthropicTool, { error: "expected an array of tools" }).nullish(),
  tool_choice: looseRecord("an object").nullish(),
  metadata: looseRecord("an object").nullish(),
  thinking: z
    .looseObject({ type: z.string({ error: "Field required (a string)" }) }, { error: "expected an object" })
    .nullish(),
};

export const messagesRequestSchema = z.looseObject({
  ...messagesFields,
  max_tokens: z
    .number({ error: "Field required (an integer >= 1)" })
    .int("Field required (an integer >= 1)")
    .min(1, "Field required (an integer >= 1)"),
});

/** count_tokens takes the same body without max_tokens. */
export const countTokensRequestSchema = z.looseObject(messagesFields);
