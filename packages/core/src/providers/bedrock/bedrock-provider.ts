import { randomUUID } from "node:crypto";
import { usageFromAnthropic } from "@llmux/pricing";
import { chatToMessagesRequest } from "../../anthropic-format/chat-to-messages-request";
import { messageToCompletion } from "../../anthropic-format/message-to-completion";
import type {
  AnthropicMessage,
  AnthropicRequest,
  MessagesResult,
  MessagesStreamItem,
  NativeMessagesOptions,
  NativeMessagesProvider,
} from "../../anthropic-format/types";
import { LlmuxError } from "../../errors/llmux-error";
import type { UpstreamResponse } from "../../upstream/upstream-client";
import { defaultMaxTokens } from "../anthropic/anthropic-provider";
import { anthropicChatStream, anthropicNativeStream } from "../anthropic/anthropic-stream";
import { embeddingInputs, embeddingResponse } from "../embedding-response";
import type {
  ChatRequest,
  ChatResult,
  EmbeddingRequest,
  EmbeddingResult,
  Provider,
  ProviderCall,
  StreamItem,
} from "../types";
import { chatToConverse, converseToCompletion } from "./bedrock-converse";
import { type BedrockModel, bedrockModel, bedrockUrl } from "./bedrock-model";
import { bedrockCredentials, signBedrockRequest } from "./bedrock-signer";
import { bedrockEvents, converseChatStream, invokeAnthropicEvents } from "./bedrock-stream";

const ANTHROPIC_BEDROCK_VERSION = "bedrock-2023-05-31";
/** Titan takes one text per request: at most this many requests in flight per embeddings call. */
const TITAN_PARALLEL = 8;

type Operation = "converse" | "converse-stream" | "invoke" | "invoke-with-response-stream";

/**
 * Amazon Bedrock runtime (`bedrock/`): chat through Converse / ConverseStream for every model
 * family (Anthropic, Meta, Amazon, Mistral, Cohere), Claude through InvokeModel for
 * `bedrock/invoke/...` and for native /v1/messages passthrough, embeddings through InvokeModel
 * (Titan, Cohere). Every request is SigV4-signed; streams are AWS event streams.
 */
export function createBedrockProvider(name = "bedrock"): Provider & NativeMessagesProvider {
  const send = async (
    call: ProviderCall,
    modelId: string,
    operation: Operation,
    body: Record<string, unknown>,
  ): Promise<UpstreamResponse> => {
    const credentials = await bedrockCredentials(call.deployment);
    const url = bedrockUrl(call.deployment, credentials, modelId, operation);
    const text = JSON.stringify(body);
    const streaming = operation.endsWith("stream");
    const unsigned: Record<string, string> = {
      "content-type": "application/json",
      accept: streaming ? "application/vnd.amazon.eventstream" : "application/json",
    };
    const extra = call.deployment.params.extra_headers as Record<string, string> | undefined;
    if (extra) for (const [key, value] of Object.entries(extra)) unsigned[key.toLowerCase()] = value;
    const headers = await signBedrockRequest(url, text, unsigned, credentials);
    return call.http.send({
      url,
      headers,
      body: text,
      signal: call.signal,
      provider: name,
      deploymentId: call.deployment.id,
      stream: streaming,
    });
  };

  const readJson = async (
    call: ProviderCall,
    response: UpstreamResponse,
  ): Promise<Record<string, unknown>> => {
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw new LlmuxError({
        kind: "connection",
        message: `${name} connection failed while reading the response`,
        provider: name,
        deploymentId: call.deployment.id,
        cause: error,
      });
    }
    try {
      const data = JSON.parse(text) as unknown;
      if (data && typeof data === "object") return data as Record<string, unknown>;
    } catch {
      // below
    }
    throw malformed(name, call);
  };

  const context = (call: ProviderCall) => ({
    provider: name,
    deploymentId: call.deployment.id,
    signal: call.signal,
  });

  const invokeMessage = async (
    call: ProviderCall,
    model: BedrockModel,
    body: Record<string, unknown>,
  ): Promise<AnthropicMessage> => {
    const response = await send(call, model.modelId, "invoke", body);
    const message = (await readJson(call, response)) as AnthropicMessage;
    if (!Array.isArray(message.content)) throw malformed(name, call);
    if (typeof message.model !== "string") message.model = model.modelId;
    return message;
  };

  return {
    name,

    async chat(request: ChatRequest, call: ProviderCall): Promise<ChatResult> {
      const model = bedrockModel(call.deployment);
      if (model.api === "invoke") {
        requireClaude(model, call);
        const { body, jsonTool } = chatToMessagesRequest(request, {
          model: model.modelId,
          defaultMaxTokens: defaultMaxTokens(call.deployment),
        });
        const message = await invokeMessage(call, model, bedrockAnthropicBody(body, undefined));
        const usage = message.usage ? usageFromAnthropic(message.usage) : null;
        return { completion: messageToCompletion(message, usage, jsonTool ? { jsonTool } : {}), usage };
      }
      const { body, jsonTool } = chatToConverse(request, model, {
        maxTokens: defaultMaxTokens(call.deployment),
      });
      const response = await send(call, model.modelId, "converse", body);
      const data = await readJson(call, response);
      if (!data.output || typeof data.output !== "object") throw malformed(name, call);
      return converseToCompletion(data, {
        id: requestId(response),
        model: model.modelId,
        ...(jsonTool ? { jsonTool } : {}),
      });
    },

    async chatStream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterator<StreamItem>> {
      const model = bedrockModel(call.deployment);
      if (model.api === "invoke") {
        requireClaude(model, call);
        const { body, jsonTool } = chatToMessagesRequest(request, {
          model: model.modelId,
          defaultMaxTokens: defaultMaxTokens(call.deployment),
        });
        const response = await send(
          call,
          model.modelId,
          "invoke-with-response-stream",
          bedrockAnthropicBody(body, undefined),
        );
        const events = invokeAnthropicEvents(bedrockEvents(response.body, context(call)), context(call));
        return anthropicChatStream(events, {
          ...context(call),
          model: model.modelId,
          ...(jsonTool ? { jsonTool } : {}),
        });
      }
      const { body, jsonTool } = chatToConverse(request, model, {
        maxTokens: defaultMaxTokens(call.deployment),
      });
      const response = await send(call, model.modelId, "converse-stream", body);
      return converseChatStream(bedrockEvents(response.body, context(call)), {
        ...context(call),
        id: requestId(response),
        model: model.modelId,
        ...(jsonTool ? { jsonTool } : {}),
      });
    },

    async embeddings(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResult> {
      const model = bedrockModel(call.deployment);
      const inputs = embeddingInputs(request.input);
      if (!inputs) {
        throw new LlmuxError({
          kind: "bad_request",
          message: "Bedrock embeddings take 'input' as a string or an array of strings",
          param: "input",
        });
      }
      const dimensions = typeof request.dimensions === "number" ? request.dimensions : undefined;
      if (model.family === "amazon") {
        let tokens = 0;
        const vectors: number[][] = new Array(inputs.length);
        let next = 0;
        const worker = async () => {
          while (next < inputs.length) {
            const index = next++;
            const body: Record<string, unknown> = { inputText: inputs[index] };
            if (dimensions !== undefined) body.dimensions = dimensions;
            if (typeof request.normalize === "boolean") body.normalize = request.normalize;
            const data = await readJson(call, await send(call, model.modelId, "invoke", body));
            if (!Array.isArray(data.embedding)) throw malformed(name, call);
            vectors[index] = data.embedding as number[];
            tokens += typeof data.inputTextTokenCount === "number" ? data.inputTextTokenCount : 0;
          }
        };
        await Promise.all(Array.from({ length: Math.min(TITAN_PARALLEL, inputs.length) }, worker));
        return embeddingResponse(vectors, model.modelId, tokens, request.encoding_format);
      }
      if (model.family === "cohere") {
        const body: Record<string, unknown> = {
          texts: inputs,
          input_type: typeof request.input_type === "string" ? request.input_type : "search_document",
        };
        if (typeof request.truncate === "string") body.truncate = request.truncate;
        if (dimensions !== undefined) body.output_dimension = dimensions;
        const response = await send(call, model.modelId, "invoke", body);
        const data = await readJson(call, response);
        const embeddings = data.embeddings as number[][] | { float?: number[][] } | undefined;
        const vectors = Array.isArray(embeddings) ? embeddings : embeddings?.float;
        if (!Array.isArray(vectors)) throw malformed(name, call);
        const counted = Number(first(response.headers["x-amzn-bedrock-input-token-count"]));
        return embeddingResponse(
          vectors,
          model.modelId,
          Number.isFinite(counted) ? counted : null,
          request.encoding_format,
        );
      }
      throw new LlmuxError({
        kind: "bad_request",
        message: `Bedrock embeddings support Amazon Titan and Cohere models, not '${model.modelId}'`,
        provider: name,
        code: "unsupported_for_provider",
      });
    },

    acceptsMessages: (deployment) => bedrockModel(deployment).family === "anthropic",

    async messages(
      body: AnthropicRequest,
      call: ProviderCall,
      options: NativeMessagesOptions,
    ): Promise<MessagesResult> {
      const model = bedrockModel(call.deployment);
      const message = await invokeMessage(call, model, bedrockAnthropicBody(body, options.beta));
      return { message, usage: message.usage ? usageFromAnthropic(message.usage) : null };
    },

    async messagesStream(
      body: AnthropicRequest,
      call: ProviderCall,
      options: NativeMessagesOptions,
    ): Promise<AsyncIterator<MessagesStreamItem>> {
      const model = bedrockModel(call.deployment);
      const response = await send(
        call,
        model.modelId,
        "invoke-with-response-stream",
        bedrockAnthropicBody(body, options.beta),
      );
      const events = invokeAnthropicEvents(bedrockEvents(response.body, context(call)), context(call));
      return anthropicNativeStream(events, context(call));
    },
  };
}

/**
 * An Anthropic Messages body as Bedrock's InvokeModel takes it: no `model` or `stream` (they are
 * in the URL), `anthropic_version: bedrock-2023-05-31`, beta flags in `anthropic_beta`.
 */
export function bedrockAnthropicBody(body: Record<string, unknown>, beta: string[] | undefined) {
  const { model: _model, stream: _stream, metadata: _metadata, service_tier: _tier, ...rest } = body;
  const result: Record<string, unknown> = { anthropic_version: ANTHROPIC_BEDROCK_VERSION, ...rest };
  if (beta && beta.length > 0) result.anthropic_beta = beta;
  return result;
}

function requireClaude(model: BedrockModel, call: ProviderCall): void {
  if (model.family === "anthropic") return;
  throw new LlmuxError({
    kind: "bad_request",
    message: `bedrock/invoke/ chat supports Anthropic Claude models; use bedrock/${model.modelId} (Converse) for '${model.modelId}'`,
    provider: "bedrock",
    deploymentId: call.deployment.id,
    code: "unsupported_for_provider",
  });
}

function requestId(response: UpstreamResponse): string {
  const id = first(response.headers["x-amzn-requestid"]);
  return id ? `chatcmpl-${id}` : `chatcmpl-${randomUUID()}`;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function malformed(provider: string, call: ProviderCall): LlmuxError {
  return new LlmuxError({
    kind: "server_error",
    message: `${provider} returned an unexpected response shape`,
    provider,
    deploymentId: call.deployment.id,
  });
}
