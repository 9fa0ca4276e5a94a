/**
 * The JSON attributes written as text (usage, cost, MLflow's inputs and outputs around the prompt's
 * and response's JSON) are exactly what stringifying the documents gives: each is compared with
 * JSON.stringify of the object the attribute describes, built here from the event.
 */
import type { CallEvent } from "@llmux/callbacks";
import type { AttributeValue } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { writeContentAttributes, writeEndAttributes } from "./call-attributes";
import { textMessagesJson, toInputMessages, toOutputMessages } from "./messages";
import { callEvent } from "./test-fixtures";

const BOTH = { langfuse: true, mlflow: true };

function attributesOf(event: CallEvent): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  const out = {
    setAttribute(key: string, value: AttributeValue) {
      attributes[key] = value;
    },
  };
  writeEndAttributes(event, BOTH, out);
  writeContentAttributes(event, BOTH, out);
  return attributes;
}

/** The documents as objects, as the attributes describe them. */
function expectedDocuments(event: CallEvent): Record<string, unknown> {
  const usage = event.usage;
  const cost = event.cost;
  const documents: Record<string, unknown> = {};
  if (usage) {
    const details: Record<string, number> = {
      input: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens),
      output: Math.max(0, usage.outputTokens - usage.reasoningTokens),
    };
    if (usage.cachedInputTokens > 0) details.cache_read_input_tokens = usage.cachedInputTokens;
    if (usage.cacheCreationInputTokens > 0)
      details.cache_creation_input_tokens = usage.cacheCreationInputTokens;
    if (usage.reasoningTokens > 0) details.output_reasoning_tokens = usage.reasoningTokens;
    details.total = usage.totalTokens;
    documents["langfuse.observation.usage_details"] = details;
    const tokenUsage: Record<string, number> = {
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      total_tokens: usage.totalTokens,
    };
    if (usage.cachedInputTokens > 0) tokenUsage.cache_read_input_tokens = usage.cachedInputTokens;
    if (usage.cacheCreationInputTokens > 0)
      tokenUsage.cache_creation_input_tokens = usage.cacheCreationInputTokens;
    documents["mlflow.chat.tokenUsage"] = tokenUsage;
  }
  if (cost) {
    const details: Record<string, number> = { input: cost.input, output: cost.output };
    if (cost.cacheRead > 0) details.cache_read_input_tokens = cost.cacheRead;
    if (cost.cacheCreation > 0) details.cache_creation_input_tokens = cost.cacheCreation;
    details.total = cost.total;
    documents["langfuse.observation.cost_details"] = details;
    documents["mlflow.llm.cost"] = {
      input_cost: cost.input + cost.cacheRead + cost.cacheCreation,
      output_cost: cost.output,
      total_cost: cost.total,
    };
  }
  documents["langfuse.trace.input"] = event.messages;
  documents["langfuse.trace.output"] = event.response;
  if (event.callType === "embeddings") {
    documents["langfuse.observation.input"] = event.messages;
    documents["langfuse.observation.output"] = event.response;
    documents["mlflow.spanInputs"] = { model: event.requestedModel, input: event.messages };
    documents["mlflow.spanOutputs"] = event.response;
    return documents;
  }
  documents["mlflow.spanInputs"] = Array.isArray(event.messages)
    ? { model: event.requestedModel, ...event.requestParams, messages: event.messages }
    : event.messages;
  const response = event.response as { role?: unknown } | null;
  documents["mlflow.spanOutputs"] =
    response && typeof response === "object" && !Array.isArray(response) && "role" in response
      ? {
          id: event.responseId,
          model: event.responseModel,
          choices: [{ index: 0, message: response, finish_reason: event.finishReasons?.[0] ?? null }],
        }
      : event.response;
  return documents;
}

const EVENTS: Array<[string, CallEvent]> = [
  ["a chat call with cache reads and reasoning", callEvent()],
  [
    "cache writes, no reads, no reasoning, fractional cost",
    callEvent({
      usage: {
        inputTokens: 900,
        cachedInputTokens: 0,
        cacheCreationInputTokens: 300,
        outputTokens: 12,
        reasoningTokens: 0,
        totalTokens: 912,
      },
      cost: {
        input: 1e-7,
        output: 0.1 + 0.2,
        cacheRead: 0,
        cacheCreation: 0.00375,
        total: 3.1e-21,
        currency: "USD",
      },
    }),
  ],
  [
    "parameters naming the model, no response id or model, no finish reason",
    callEvent(
      { responseId: undefined, responseModel: undefined, finishReasons: undefined },
      { requestParams: { model: "alias", temperature: 0 } },
    ),
  ],
  ["parameters holding the messages too", callEvent({}, { requestParams: { messages: [], n: 2 } })],
  [
    "a parameter whose toJSON reads its key",
    callEvent({}, { requestParams: { keyed: { toJSON: (key: string) => `key:${key}` }, n: 1 } }),
  ],
  [
    "parameters of every kind, an id without a model",
    callEvent(
      { responseModel: undefined, finishReasons: ["length"] },
      {
        requestParams: {
          temperature: 0.7,
          top_p: Number.NaN,
          max_tokens: -0,
          stream: true,
          user: 'quoted " name \u0001',
          'key "quoted"': "value",
          stop: ["\n", "END"],
          response_format: { type: "json_schema", json_schema: { name: "x", strict: true } },
          tools: [{ type: "function", function: { name: "f", parameters: {} } }],
          tool_choice: null,
          omitted: undefined,
          callback: () => 1,
          when: new Date(0),
          __proto__: "own",
        },
      },
    ),
  ],
  [
    "parameters whose copy moves a key (an array index), a numeric response id",
    callEvent({ responseId: 42 as unknown as string }, { requestParams: { temperature: 1, 2: "two" } }),
  ],
  [
    "parameters of a class, a model without an id",
    callEvent(
      { responseId: undefined },
      {
        requestParams: Object.assign(new (class Params {})(), { temperature: 0.5 }) as unknown as Record<
          string,
          unknown
        >,
      },
    ),
  ],
  ["no parameters at all", callEvent({}, { requestParams: {} })],
  [
    "an Anthropic prompt (system beside the messages) and a choices response",
    callEvent(
      { response: { choices: [{ message: { role: "assistant", content: "é ✓ \u2028" } }] } },
      {
        callType: "messages",
        messages: { system: "Be brief.", messages: [{ role: "user", content: "hi" }] },
      },
    ),
  ],
  ["a null response, no usage, no cost", callEvent({ response: null, usage: null, cost: null })],
  [
    "embeddings",
    callEvent(
      { response: { data: 2, dimensions: 1536 } },
      { callType: "embeddings", messages: ["one", "two"], requestParams: {} },
    ),
  ],
];

describe("JSON attributes written as text", () => {
  for (const [name, event] of EVENTS) {
    it(`equal JSON.stringify of their documents: ${name}`, () => {
      const attributes = attributesOf(event);
      const documents = expectedDocuments(event);
      for (const [key, document] of Object.entries(documents)) {
        expect(attributes[key], key).toBe(JSON.stringify(document));
      }
    });
  }

  it("leave out MLflow's inputs when a parameter cannot be encoded (a BigInt), as before", () => {
    const attributes = attributesOf(callEvent({}, { requestParams: { seed: 1n, temperature: 0 } }));
    expect(attributes["mlflow.spanInputs"]).toBeUndefined();
    expect(attributes["langfuse.trace.input"]).toBe(JSON.stringify(callEvent().messages));
  });

  it("leave out a document that cannot be encoded (a cycle), as before", () => {
    const cyclic: Record<string, unknown> = { role: "assistant" };
    cyclic.self = cyclic;
    const attributes = attributesOf(callEvent({ response: cyclic }));
    expect(attributes["langfuse.trace.output"]).toBeUndefined();
    expect(attributes["mlflow.spanOutputs"]).toBeUndefined();
    expect(attributes["langfuse.trace.input"]).toBe(JSON.stringify(callEvent().messages));
  });
});

describe("GenAI messages written as text", () => {
  const lists: unknown[][] = [
    [],
    [{ role: "user", content: "hello there" }],
    [
      { role: "system", content: "Be brief." },
      { role: "user", content: 'quotes " and \\ and é ✓ \u2028 \ud800' },
    ],
    [{ role: "assistant", content: "Mock reply", refusal: null, annotations: [] }],
    [{ content: "no order", role: "assistant" }],
    [
      { role: "assistant", content: "one" },
      { role: "assistant", content: "two" },
    ],
  ];

  it("equal JSON.stringify of the converted messages, as input and as output with finish reasons", () => {
    for (const list of lists) {
      expect(textMessagesJson(list)?.converted, JSON.stringify(list)).toBe(
        JSON.stringify(toInputMessages(list)),
      );
      for (const reasons of [[], ["stop"], ["stop", "length"]]) {
        expect(textMessagesJson(list, reasons)?.converted).toBe(
          JSON.stringify(toOutputMessages(list, reasons)),
        );
      }
    }
  });

  it("give the list's own JSON too when every message has a role and a content only", () => {
    const twoKeys: unknown[][] = [
      [],
      [{ role: "user", content: "hello there" }],
      [{ content: "no order", role: "assistant" }],
      [
        { role: "system", content: "Be brief." },
        { role: "user", content: 'quotes " and \\ and é ✓ \u2028 \ud800' },
        { role: "critic", content: "" },
      ],
      // neither key enumerable: an empty object in the list's JSON
      [Object.defineProperties({}, { role: { value: "user" }, content: { value: "hidden" } })],
    ];
    for (const list of twoKeys) expect(textMessagesJson(list)?.raw).toBe(JSON.stringify(list));
    const inherited = Object.assign(Object.create({ extra: 1 }), { role: "user", content: "hi" });
    const serializing = { role: "user", content: "hi", toJSON: () => "replaced" };
    Object.defineProperty(serializing, "toJSON", { enumerable: false });
    const serializingList = Object.assign([{ role: "user", content: "hi" }], { toJSON: () => [] });
    const others: unknown[][] = [
      [{ role: "assistant", content: "Mock reply", refusal: null, annotations: [] }],
      [
        { role: "user", content: "hi" },
        { role: "user", content: "hi", extra: true },
      ],
      [Object.assign(Object.create(null), { role: "user", content: "hi" })],
      [inherited],
      [serializing],
      serializingList,
    ];
    for (const list of others) {
      const documents = textMessagesJson(list);
      expect(documents?.converted).toBe(JSON.stringify(toInputMessages(list)));
      expect(documents?.raw, JSON.stringify(list)).toBeUndefined();
    }
  });

  it("leave every other message to the converter", () => {
    const others: unknown[][] = [
      [{ role: "tool", tool_call_id: "t1", content: "42" }],
      [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      [{ role: "user", content: "hi", name: "ann" }],
      [
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "c1", function: { name: "f", arguments: "{}" } }],
        },
      ],
      [{ role: "assistant", content: null }],
      [{ content: "no role" }],
      ["a string"],
      [{ role: "user", content: "ok" }, null],
    ];
    for (const list of others) expect(textMessagesJson(list), JSON.stringify(list)).toBeUndefined();
  });

  it("are what the call span carries for a plain-text prompt and answer", () => {
    const event = callEvent(
      { response: [{ role: "assistant", content: "Hi!" }], finishReasons: ["stop"] },
      { messages: [{ role: "user", content: "hello" }] },
    );
    const attributes = attributesOf(event);
    expect(attributes["gen_ai.input.messages"]).toBe(JSON.stringify(toInputMessages(event.messages)));
    expect(attributes["gen_ai.output.messages"]).toBe(
      JSON.stringify(toOutputMessages(event.response, event.finishReasons)),
    );
    // one message as the response (not a list), with and without a finish reason
    for (const finishReasons of [["length"], undefined]) {
      const single = callEvent({ response: { role: "assistant", content: "Hi!" }, finishReasons });
      expect(attributesOf(single)["gen_ai.output.messages"]).toBe(
        JSON.stringify(toOutputMessages(single.response, single.finishReasons)),
      );
    }
  });
});
