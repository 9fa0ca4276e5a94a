/**
 * Amazon Bedrock runtime shape: POST /model/{modelId}/converse, /converse-stream (AWS event-stream binary
 * framing) and /invoke (Titan and Cohere embeddings, Anthropic messages). Every request must carry a valid
 * SigV4 signature for the configured test credentials; errors carry x-amzn-ErrorType and {"message"}.
 */
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { buildAnthropicAnswer } from "./anthropic-shape.js";
import { anthropicStreamEvents, chunkFrame, invokeMessage, wantsThinking } from "./bedrock-invoke-stream.js";
import type { Exchange } from "./exchange.js";
import { buildReply, buildUsage, embeddingVector, measureInput, PromptMeter } from "./reply.js";
import { verifySigV4 } from "./sigv4-verifier.js";
import type { BedrockCredentials } from "./types.js";

const BEDROCK_ERROR_TYPES: Record<number, string> = {
  400: "ValidationException",
  401: "UnrecognizedClientException",
  403: "AccessDeniedException",
  404: "ResourceNotFoundException",
  408: "ModelTimeoutException",
  409: "ConflictException",
  413: "ValidationException",
  424: "ModelErrorException",
  429: "ThrottlingException",
  500: "InternalServerException",
  503: "ServiceUnavailableException",
};

const codec = new EventStreamCodec(toUtf8, fromUtf8);
let sequence = 0;

function requestId(): string {
  sequence = (sequence + 1) % 0xffffffff;
  return `00000000-0000-4000-8000-${sequence.toString(16).padStart(12, "0")}`;
}

function writeTypedError(exchange: Exchange, status: number, type: string, message: string): void {
  exchange.sendJson(
    status,
    { message },
    {
      "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      "x-amzn-requestid": requestId(),
    },
  );
}

/** `{"message"}` with `x-amzn-ErrorType: <Code>:...` (ThrottlingException for 429, ...). */
export function writeBedrockError(exchange: Exchange, status: number, message: string): void {
  const type =
    BEDROCK_ERROR_TYPES[status] ?? (status >= 500 ? "InternalServerException" : "ValidationException");
  writeTypedError(exchange, status, type, message);
}

/** One event-stream frame with the :event-type / :content-type / :message-type headers Bedrock sends. */
function eventFrame(eventType: string, payload: string): Uint8Array {
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: eventType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: fromUtf8(payload),
  });
}

async function authorize(exchange: Exchange, accepted: BedrockCredentials[]): Promise<boolean> {
  // The key id the request claims picks the set to verify with (any set when it names none).
  const authorization = String(exchange.record.headers.authorization ?? "");
  const credentials =
    accepted.find((candidate) => authorization.includes(`Credential=${candidate.accessKeyId}/`)) ??
    accepted[0]!;
  if (
    credentials.sessionToken !== undefined &&
    authorization.includes(`Credential=${credentials.accessKeyId}/`)
  ) {
    const token = exchange.record.headers["x-amz-security-token"];
    if (token !== credentials.sessionToken) {
      writeTypedError(
        exchange,
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
      return false;
    }
  }
  const problem = await verifySigV4(
    {
      method: exchange.record.method,
      path: exchange.rawPath,
      query: exchange.record.query,
      headers: exchange.record.headers,
      body: exchange.rawBody,
    },
    credentials,
  );
  if (problem === undefined) return true;
  writeTypedError(exchange, 403, problem.type, problem.message);
  return false;
}

/** POST /model/{modelId}/converse and /converse-stream. */
export async function handleConverse(
  exchange: Exchange,
  stream: boolean,
  credentials: BedrockCredentials[],
): Promise<void> {
  if (!(await authorize(exchange, credentials))) return;
  if (!(await exchange.prelude(stream, writeBedrockError))) return;
  const body = exchange.body ?? {};
  if (typeof body !== "object" || !Array.isArray(body.messages)) {
    writeBedrockError(
      exchange,
      400,
      "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null",
    );
    return;
  }
  const fault = exchange.fault;
  const meter = new PromptMeter();
  meter.addContent(body.system);
  meter.addMessages(body.messages);
  const maxTokens = body.inferenceConfig?.maxTokens;
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
  const stopReason =
    fault?.finishReason ?? (toolCall ? "tool_use" : reply.truncated ? "max_tokens" : "end_turn");
  const usageObject = {
    inputTokens: usage.promptTokens,
    outputTokens: usage.completionTokens,
    totalTokens:
      usage.promptTokens +
      usage.completionTokens +
      usage.cacheReadInputTokens +
      usage.cacheCreationInputTokens,
    cacheReadInputTokens: usage.cacheReadInputTokens,
    cacheWriteInputTokens: usage.cacheCreationInputTokens,
  };
  const latencyMs = Math.max(1, Date.now() - exchange.record.receivedAt);
  const toolUseId = `tooluse_mock${meter.hash.toString(36)}`;
  const headers = { "x-amzn-requestid": requestId() };

  if (!stream) {
    if (fault?.malformed !== undefined) {
      exchange.sendJson(200, `{"output":{"message":{"role":"assistant","content":[`, headers);
      return;
    }
    const content = toolCall
      ? [{ toolUse: { toolUseId, name: toolCall.name, input: parseArguments(toolCall.arguments) } }]
      : [{ text: reply.text }];
    exchange.sendJson(
      200,
      {
        output: { message: { role: "assistant", content } },
        stopReason,
        usage: usageObject,
        metrics: { latencyMs },
      },
      headers,
    );
    return;
  }

  const frames: Uint8Array[] = [eventFrame("messageStart", `{"role":"assistant"}`)];
  if (fault?.malformed !== undefined) {
    if (fault.malformed === "json")
      frames.push(eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":`));
    else {
      // A frame whose prelude CRC is wrong: the decoder must reject it.
      const broken = eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"x"}}`).slice();
      broken[8] = (broken[8]! ^ 0xff) & 0xff;
      frames.push(broken);
    }
    await streamFrames(exchange, frames, undefined, headers);
    return;
  }
  if (toolCall) {
    frames.push(
      eventFrame(
        "contentBlockStart",
        JSON.stringify({ contentBlockIndex: 0, start: { toolUse: { toolUseId, name: toolCall.name } } }),
      ),
    );
    for (let index = 0; index < toolCall.arguments.length; index += 8) {
      frames.push(
        eventFrame(
          "contentBlockDelta",
          `{"contentBlockIndex":0,"delta":{"toolUse":{"input":${JSON.stringify(toolCall.arguments.slice(index, index + 8))}}}}`,
        ),
      );
    }
  } else {
    for (const piece of reply.pieces) {
      frames.push(
        eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":${JSON.stringify(piece)}}}`),
      );
    }
  }
  frames.push(eventFrame("contentBlockStop", `{"contentBlockIndex":0}`));
  frames.push(eventFrame("messageStop", JSON.stringify({ stopReason })));
  const metadata = eventFrame("metadata", JSON.stringify({ usage: usageObject, metrics: { latencyMs } }));
  await streamFrames(exchange, frames, metadata, headers);
}

async function streamFrames(
  exchange: Exchange,
  frames: Uint8Array[],
  tail: Uint8Array | undefined,
  headers: Record<string, string>,
): Promise<void> {
  if (exchange.chunkDelayMs <= 0 && exchange.fault?.disconnectAfterChunks === undefined) {
    // One write: the frames concatenated.
    const all = tail === undefined ? frames : [...frames, tail];
    await exchange.stream("application/vnd.amazon.eventstream", [Buffer.concat(all)], undefined, headers);
    return;
  }
  await exchange.stream("application/vnd.amazon.eventstream", frames, tail, headers);
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** POST /model/{modelId}/invoke: Titan / Cohere embeddings, Anthropic (bedrock-2023-05-31) messages. */
export async function handleInvoke(
  exchange: Exchange,
  modelId: string,
  credentials: BedrockCredentials[],
): Promise<void> {
  if (!(await authorize(exchange, credentials))) return;
  if (!(await exchange.prelude(false, writeBedrockError))) return;
  const body = exchange.body ?? {};
  const fault = exchange.fault;
  if (fault?.malformed !== undefined) {
    exchange.sendJson(200, `{"embedding":[0.1,`);
    return;
  }
  const family = modelFamily(modelId);
  const dimensions =
    typeof body.dimensions === "number" && body.dimensions > 0 ? Math.floor(body.dimensions) : 8;
  if (family === "amazon.titan-embed") {
    if (typeof body.inputText !== "string") {
      writeBedrockError(
        exchange,
        400,
        "Malformed input request: required key [inputText] not found, please reformat your input and try again.",
      );
      return;
    }
    const measured = measureInput(body.inputText);
    const tokens = fault?.usage?.prompt_tokens ?? measured.tokens;
    const vector = embeddingVector(measured.hash, dimensions);
    exchange.sendJson(
      200,
      { embedding: vector, embeddingsByType: { float: vector }, inputTextTokenCount: tokens },
      tokenHeaders(tokens, 0),
    );
    return;
  }
  if (family === "cohere.embed") {
    if (!Array.isArray(body.texts)) {
      writeBedrockError(
        exchange,
        400,
        "Malformed input request: required key [texts] not found, please reformat your input and try again.",
      );
      return;
    }
    let tokens = 0;
    const vectors = body.texts.map((text: unknown) => {
      const measured = measureInput(text);
      tokens += measured.tokens;
      return embeddingVector(measured.hash, dimensions);
    });
    tokens = fault?.usage?.prompt_tokens ?? tokens;
    const byType = Array.isArray(body.embedding_types);
    exchange.sendJson(
      200,
      {
        id: requestId(),
        embeddings: byType ? { float: vectors } : vectors,
        texts: body.texts,
        response_type: byType ? "embeddings_by_type" : "embeddings_floats",
      },
      tokenHeaders(tokens, 0),
    );
    return;
  }
  if (family === "anthropic") {
    if (!Array.isArray(body.messages)) {
      writeBedrockError(exchange, 400, "messages: Field required");
      return;
    }
    const answer = buildAnthropicAnswer({ ...body, model: modelId }, exchange.settings.words, fault);
    exchange.sendJson(
      200,
      invokeMessage(answer, wantsThinking(body)),
      tokenHeaders(answer.usage.promptTokens, answer.usage.completionTokens),
    );
    return;
  }
  writeBedrockError(
    exchange,
    400,
    `The provided model identifier is invalid for InvokeModel in the mock: ${modelId}`,
  );
}

/** "us.anthropic.claude-..." → "anthropic"; "amazon.titan-embed-text-v2:0" → "amazon.titan-embed". */
function modelFamily(modelId: string): string {
  const id = modelId.replace(/^(us|eu|apac|global)\./, "");
  if (id.startsWith("amazon.titan-embed")) return "amazon.titan-embed";
  if (id.startsWith("cohere.embed")) return "cohere.embed";
  if (id.startsWith("anthropic.")) return "anthropic";
  return id;
}

function tokenHeaders(input: number, output: number): Record<string, string> {
  return {
    "x-amzn-requestid": requestId(),
    "x-amzn-bedrock-input-token-count": String(input),
    "x-amzn-bedrock-output-token-count": String(output),
  };
}

/** POST /model/{modelId}/invoke-with-response-stream: Anthropic models, events in `chunk` frames. */
export async function handleInvokeStream(
  exchange: Exchange,
  modelId: string,
  credentials: BedrockCredentials[],
): Promise<void> {
  if (!(await authorize(exchange, credentials))) return;
  if (!(await exchange.prelude(true, writeBedrockError))) return;
  const body = exchange.body ?? {};
  if (modelFamily(modelId) !== "anthropic") {
    writeBedrockError(
      exchange,
      400,
      `The provided model identifier is invalid for InvokeModelWithResponseStream in the mock: ${modelId}`,
    );
    return;
  }
  if (!Array.isArray(body.messages)) {
    writeBedrockError(exchange, 400, "messages: Field required");
    return;
  }
  const answer = buildAnthropicAnswer({ ...body, model: modelId }, exchange.settings.words, exchange.fault);
  const events = anthropicStreamEvents(answer, wantsThinking(body));
  const frames = events.slice(0, -1).map(chunkFrame);
  await streamFrames(exchange, frames, chunkFrame(events.at(-1)!), { "x-amzn-requestid": requestId() });
}
