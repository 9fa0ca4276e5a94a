/**
 * Anthropic Messages shape: POST /v1/messages (JSON and the SSE event sequence message_start,
 * content_block_start, ping, content_block_delta…, content_block_stop, message_delta, message_stop),
 * tool_use blocks, cache usage fields, errors as {"type":"error","error":{...}}; POST /v1/messages/count_tokens.
 */
import type { Exchange } from "./exchange.js";
import { buildReply, buildUsage, PromptMeter, type Reply, type ReplyUsage } from "./reply.js";
import type { Fault } from "./types.js";

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  409: "conflict_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

let sequence = 0;

function nextId(prefix: string): string {
  sequence = (sequence + 1) % 1_000_000_000;
  return `${prefix}${sequence.toString(36).padStart(12, "0")}`;
}

/** `{"type":"error","error":{"type","message"},"request_id"}` with the status's Anthropic error type. */
export function writeAnthropicError(exchange: Exchange, status: number, message: string): void {
  const type = ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  const requestId = nextId("req_mock");
  exchange.sendJson(
    status,
    { type: "error", error: { type, message }, request_id: requestId },
    { "request-id": requestId },
  );
}

/** What a Messages answer is made of; shared with Bedrock's InvokeModel for anthropic.* models. */
export interface AnthropicAnswer {
  id: string;
  model: string;
  reply: Reply;
  usage: ReplyUsage;
  stopReason: string;
  toolUseId: string;
  fault: Fault | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape.
export function buildAnthropicAnswer(body: any, words: number, fault: Fault | undefined): AnthropicAnswer {
  const meter = new PromptMeter();
  meter.addContent(body.system);
  meter.addMessages(body.messages);
  const reply = buildReply(
    meter.hash,
    words,
    fault,
    typeof body.max_tokens === "number" ? body.max_tokens : undefined,
  );
  const toolCall = fault?.toolCall;
  const usage = buildUsage(meter.tokens, toolCall ? 0 : reply.words, fault);
  if (toolCall && fault?.usage?.completion_tokens === undefined) {
    usage.completionTokens = Math.ceil(toolCall.arguments.length / 4) + usage.reasoningTokens;
  }
  return {
    id: nextId("msg_mock"),
    model: typeof body.model === "string" ? body.model : "mock-model",
    reply,
    usage,
    stopReason: fault?.finishReason ?? (toolCall ? "tool_use" : reply.truncated ? "max_tokens" : "end_turn"),
    toolUseId: `toolu_mock${meter.hash.toString(36)}`,
    fault,
  };
}

function usageObject(usage: ReplyUsage, outputTokens: number) {
  return {
    input_tokens: usage.promptTokens,
    cache_creation_input_tokens: usage.cacheCreationInputTokens,
    cache_read_input_tokens: usage.cacheReadInputTokens,
    output_tokens: outputTokens,
    service_tier: "standard",
  };
}

/** The non-streaming Message object. */
export function anthropicMessage(answer: AnthropicAnswer) {
  const toolCall = answer.fault?.toolCall;
  const content = toolCall
    ? [
        {
          type: "tool_use",
          id: answer.toolUseId,
          name: toolCall.name,
          input: parseArguments(toolCall.arguments),
        },
      ]
    : [{ type: "text", text: answer.reply.text }];
  return {
    id: answer.id,
    type: "message",
    role: "assistant",
    model: answer.model,
    content,
    stop_reason: answer.stopReason,
    stop_sequence: null,
    usage: usageObject(answer.usage, answer.usage.completionTokens),
  };
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function sse(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

/** POST /v1/messages. */
export async function handleMessages(exchange: Exchange): Promise<void> {
  const body = exchange.body ?? {};
  const stream = body.stream === true;
  if (!(await exchange.prelude(stream, writeAnthropicError))) return;
  if (typeof body !== "object" || !Array.isArray(body.messages)) {
    writeAnthropicError(exchange, 400, "messages: Field required");
    return;
  }
  const fault = exchange.fault;
  const answer = buildAnthropicAnswer(body, exchange.settings.words, fault);
  const extraHeaders = { "request-id": `req_${answer.id}` };
  if (!stream) {
    if (fault?.malformed !== undefined) {
      exchange.sendJson(
        200,
        `{"id":"${answer.id}","type":"message","content":[{"type":"text",`,
        extraHeaders,
      );
      return;
    }
    exchange.sendJson(200, anthropicMessage(answer), extraHeaders);
    return;
  }

  const usage = answer.usage;
  const chunks: string[] = [];
  chunks.push(
    sse(
      "message_start",
      JSON.stringify({
        type: "message_start",
        message: {
          id: answer.id,
          type: "message",
          role: "assistant",
          model: answer.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: usageObject(usage, 1),
        },
      }),
    ),
  );
  if (fault?.malformed !== undefined) {
    if (fault.malformed === "json")
      chunks.push(`event: content_block_start\ndata: {"type":"content_block_start",\n\n`);
    else chunks.push(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n`);
    await exchange.stream("text/event-stream; charset=utf-8", chunks, undefined, extraHeaders);
    return;
  }
  const toolCall = fault?.toolCall;
  if (toolCall) {
    chunks.push(
      sse(
        "content_block_start",
        `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"${answer.toolUseId}","name":${JSON.stringify(toolCall.name)},"input":{}}}`,
      ),
    );
    chunks.push(sse("ping", `{"type": "ping"}`));
    for (let index = 0; index < toolCall.arguments.length; index += 8) {
      const fragment = JSON.stringify(toolCall.arguments.slice(index, index + 8));
      chunks.push(
        sse(
          "content_block_delta",
          `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":${fragment}}}`,
        ),
      );
    }
  } else {
    chunks.push(
      sse(
        "content_block_start",
        `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
      ),
    );
    chunks.push(sse("ping", `{"type": "ping"}`));
    for (const piece of answer.reply.pieces) {
      chunks.push(
        sse(
          "content_block_delta",
          `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(piece)}}}`,
        ),
      );
    }
  }
  chunks.push(sse("content_block_stop", `{"type":"content_block_stop","index":0}`));
  chunks.push(
    sse(
      "message_delta",
      JSON.stringify({
        type: "message_delta",
        delta: { stop_reason: answer.stopReason, stop_sequence: null },
        usage: {
          input_tokens: usage.promptTokens,
          cache_creation_input_tokens: usage.cacheCreationInputTokens,
          cache_read_input_tokens: usage.cacheReadInputTokens,
          output_tokens: usage.completionTokens,
        },
      }),
    ),
  );
  await exchange.stream(
    "text/event-stream; charset=utf-8",
    chunks,
    sse("message_stop", `{"type":"message_stop"}`),
    extraHeaders,
  );
}

/** POST /v1/messages/count_tokens: `{"input_tokens": ceil(characters of system + messages / 4)}`. */
export async function handleCountTokens(exchange: Exchange): Promise<void> {
  if (!(await exchange.prelude(false, writeAnthropicError))) return;
  const body = exchange.body ?? {};
  if (typeof body !== "object" || !Array.isArray(body.messages)) {
    writeAnthropicError(exchange, 400, "messages: Field required");
    return;
  }
  const meter = new PromptMeter();
  meter.addContent(body.system);
  meter.addMessages(body.messages);
  exchange.sendJson(200, { input_tokens: exchange.fault?.usage?.prompt_tokens ?? meter.tokens });
}
