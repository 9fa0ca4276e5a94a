/**
 * OpenAI shape: /v1/chat/completions (JSON and SSE), /v1/embeddings, /v1/models, and the same routes under
 * Azure's /openai/deployments/{deployment}/... paths.
 */
import type { Exchange } from "./exchange.js";
import {
  buildReply,
  buildUsage,
  embeddingVector,
  measureInput,
  PromptMeter,
  type ReplyUsage,
  vectorToBase64,
} from "./reply.js";

const OPENAI_ERROR_TYPES: Record<number, [type: string, code: string | null]> = {
  400: ["invalid_request_error", null],
  401: ["invalid_request_error", "invalid_api_key"],
  403: ["permission_error", null],
  404: ["invalid_request_error", "model_not_found"],
  413: ["invalid_request_error", "request_too_large"],
  429: ["requests", "rate_limit_exceeded"],
};

/** `{"error":{"message","type","param","code"}}` with the status's usual type and code. */
export function writeOpenAIError(exchange: Exchange, status: number, message: string): void {
  const known = OPENAI_ERROR_TYPES[status];
  const type = known?.[0] ?? (status >= 500 ? "server_error" : "invalid_request_error");
  const code = known?.[1] ?? null;
  exchange.sendJson(status, { error: { message, type, param: null, code } });
}

let sequence = 0;

function nextId(prefix: string): string {
  sequence = (sequence + 1) % 1_000_000_000;
  return `${prefix}${sequence.toString(36).padStart(8, "0")}`;
}

function usageObject(usage: ReplyUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function toolCallId(hash: number): string {
  return `call_mock${hash.toString(36)}`;
}

/** Splits tool-call arguments into the fragments a stream sends. */
function argumentFragments(text: string): string[] {
  const fragments: string[] = [];
  for (let index = 0; index < text.length; index += 8) fragments.push(text.slice(index, index + 8));
  return fragments;
}

/** POST /v1/chat/completions (and Azure's deployment path: `deployment` is the model when the body has none). */
export async function handleChatCompletions(exchange: Exchange, deployment?: string): Promise<void> {
  const body = exchange.body ?? {};
  const stream = body.stream === true;
  if (!(await exchange.prelude(stream, writeOpenAIError))) return;
  if (typeof body !== "object" || !Array.isArray(body.messages)) {
    writeOpenAIError(exchange, 400, "Mock: 'messages' must be an array");
    return;
  }
  const fault = exchange.fault;
  const meter = new PromptMeter();
  meter.addMessages(body.messages);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const reply = buildReply(
    meter.hash,
    exchange.settings.words,
    fault,
    typeof maxTokens === "number" ? maxTokens : undefined,
  );
  const toolCall = fault?.toolCall;
  const usage = buildUsage(meter.tokens, toolCall ? 0 : reply.words, fault);
  if (toolCall && fault?.usage?.completion_tokens === undefined) {
    usage.completionTokens = Math.ceil(toolCall.arguments.length / 4) + usage.reasoningTokens;
  }
  const finishReason = fault?.finishReason ?? (toolCall ? "tool_calls" : reply.truncated ? "length" : "stop");
  const model: string = typeof body.model === "string" ? body.model : (deployment ?? "mock-model");
  const id = nextId("chatcmpl-mock");
  const created = Math.floor(exchange.record.receivedAt / 1000);
  const extraHeaders = { "x-request-id": id };

  if (!stream) {
    if (fault?.malformed !== undefined) {
      exchange.sendJson(
        200,
        `{"id":"${id}","object":"chat.completion","choices":[{"index":0,"message":{`,
        extraHeaders,
      );
      return;
    }
    const message = toolCall
      ? {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: toolCallId(meter.hash),
              type: "function",
              function: { name: toolCall.name, arguments: toolCall.arguments },
            },
          ],
          refusal: null,
          annotations: [],
        }
      : { role: "assistant", content: reply.text, refusal: null, annotations: [] };
    exchange.sendJson(
      200,
      {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage: usageObject(usage),
        service_tier: "default",
        system_fingerprint: "fp_mock",
      },
      extraHeaders,
    );
    return;
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const prefix = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_mock","choices":[{"index":0,"delta":`;
  const suffix = includeUsage
    ? `,"logprobs":null,"finish_reason":null}],"usage":null}\n\n`
    : `,"logprobs":null,"finish_reason":null}]}\n\n`;
  const chunks: string[] = [];
  if (toolCall) {
    chunks.push(
      `${prefix}{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"${toolCallId(meter.hash)}","type":"function","function":{"name":${JSON.stringify(toolCall.name)},"arguments":""}}]}${suffix}`,
    );
    for (const fragment of argumentFragments(toolCall.arguments)) {
      chunks.push(
        `${prefix}{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(fragment)}}}]}${suffix}`,
      );
    }
  } else {
    chunks.push(`${prefix}{"role":"assistant","content":"","refusal":null}${suffix}`);
    for (const piece of reply.pieces) chunks.push(`${prefix}{"content":${JSON.stringify(piece)}}${suffix}`);
  }
  if (fault?.malformed !== undefined) {
    const first = chunks[0]!;
    chunks.length = 1;
    if (fault.malformed === "json") chunks.push(`${prefix}{"content":"broken\n\n`);
    else chunks.push(`${first.slice(6, -2)}\n`);
    await exchange.stream("text/event-stream", chunks, undefined, extraHeaders);
    return;
  }
  chunks.push(
    `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_mock","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${includeUsage ? ',"usage":null' : ""}}\n\n`,
  );
  if (includeUsage) {
    chunks.push(
      `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_mock","choices":[],"usage":${JSON.stringify(usageObject(usage))}}\n\n`,
    );
  }
  await exchange.stream("text/event-stream", chunks, "data: [DONE]\n\n", extraHeaders);
}

/** POST /v1/embeddings: deterministic unit vectors from a hash of each input; `dimensions` (default 8). */
export async function handleEmbeddings(exchange: Exchange, deployment?: string): Promise<void> {
  if (!(await exchange.prelude(false, writeOpenAIError))) return;
  const body = exchange.body ?? {};
  const input = body.input;
  if (input === undefined || input === null || (Array.isArray(input) && input.length === 0)) {
    writeOpenAIError(exchange, 400, "Mock: 'input' is required");
    return;
  }
  if (exchange.fault?.malformed !== undefined) {
    exchange.sendJson(200, `{"object":"list","data":[{"object":"embedding","embedding":[0.1,`);
    return;
  }
  const dimensions =
    typeof body.dimensions === "number" && body.dimensions > 0 ? Math.floor(body.dimensions) : 8;
  const base64 = body.encoding_format === "base64";
  // A single array of numbers is one tokenised input; any other array is a list of inputs.
  const inputs: unknown[] = Array.isArray(input) && typeof input[0] !== "number" ? input : [input];
  let tokens = 0;
  const data = new Array(inputs.length);
  for (let index = 0; index < inputs.length; index++) {
    const measured = measureInput(inputs[index]);
    tokens += measured.tokens;
    const vector = embeddingVector(measured.hash, dimensions);
    data[index] = { object: "embedding", index, embedding: base64 ? vectorToBase64(vector) : vector };
  }
  const promptTokens = exchange.fault?.usage?.prompt_tokens ?? tokens;
  exchange.sendJson(200, {
    object: "list",
    data,
    model: typeof body.model === "string" ? body.model : (deployment ?? "mock-embedding"),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}

/** GET /v1/models. */
export async function handleModels(exchange: Exchange, models: readonly string[]): Promise<void> {
  if (!(await exchange.prelude(false, writeOpenAIError))) return;
  exchange.sendJson(200, {
    object: "list",
    data: models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "llmux-mock" })),
  });
}
