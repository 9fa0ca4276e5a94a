import { usageFromOpenAI } from "@llmux/pricing";
import { LlmuxError } from "../../errors/llmux-error";
import type { NativeResponsesProvider } from "../../responses-format/types";
import type {
  ChatCompletion,
  ChatRequest,
  ChatResult,
  EmbeddingRequest,
  EmbeddingResult,
  Provider,
  ProviderCall,
  StreamItem,
} from "../types";
import { acceptsResponses, openAiResponses, openAiResponsesStream } from "./openai-responses";
import { openAiStream } from "./openai-stream";

const DEFAULT_BASE = "https://api.openai.com/v1";

/** Builds the request target for an OpenAI-compatible server (OpenAI, vLLM, Groq, LM Studio, ...). */
export interface OpenAiTarget {
  url(call: ProviderCall, operation: "chat/completions" | "embeddings"): string;
  /** A fresh object per call (a stream adds its `accept` to it). */
  headers(call: ProviderCall): Record<string, string>;
  /** The model name sent upstream. */
  model(call: ProviderCall): string;
}

export const openAiTarget: OpenAiTarget = {
  url: (call, operation) => `${call.deployment.apiBase ?? DEFAULT_BASE}/${operation}`,
  headers: (call) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (call.deployment.apiKey) headers.authorization = `Bearer ${call.deployment.apiKey}`;
    const organization = call.deployment.params.organization;
    if (typeof organization === "string") headers["openai-organization"] = organization;
    const extra = call.deployment.params.extra_headers as Record<string, string> | undefined;
    if (extra) Object.assign(headers, extra);
    return headers;
  },
  model: (call) => call.deployment.model,
};

/** The OpenAI provider; Azure reuses it with another target. */
export function createOpenAiProvider(
  name = "openai",
  target: OpenAiTarget = openAiTarget,
): Provider & NativeResponsesProvider {
  return {
    name,

    acceptsResponses: (deployment) => acceptsResponses(name, deployment),
    responses: (body, call) => openAiResponses(name, target, body, call),
    responsesStream: (body, call) => openAiResponsesStream(name, target, body, call),

    async chat(request: ChatRequest, call: ProviderCall): Promise<ChatResult> {
      const { data, text } = await call.http.json({
        url: target.url(call, "chat/completions"),
        headers: target.headers(call),
        body: JSON.stringify(chatBody(request, target.model(call), false)),
        signal: call.upstreamSignal ?? call.signal,
        provider: name,
        deploymentId: call.deployment.id,
      });
      const completion = data as ChatCompletion;
      if (!completion || !Array.isArray(completion.choices)) throw malformed(name, call);
      return { completion, usage: completion.usage ? usageFromOpenAI(completion.usage) : null, raw: text };
    },

    async chatStream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterator<StreamItem>> {
      const headers = target.headers(call);
      headers.accept = "text/event-stream";
      const response = await call.http.send({
        url: target.url(call, "chat/completions"),
        headers,
        body: JSON.stringify(chatBody(request, target.model(call), true)),
        signal: call.upstreamSignal ?? call.signal,
        provider: name,
        deploymentId: call.deployment.id,
        stream: true,
      });
      return openAiStream(response.body, {
        provider: name,
        deploymentId: call.deployment.id,
        signal: call.upstreamSignal ?? call.signal,
      });
    },

    async embeddings(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResult> {
      const body = { ...request, model: target.model(call) };
      const { data, text } = await call.http.json({
        url: target.url(call, "embeddings"),
        headers: target.headers(call),
        body: JSON.stringify(body),
        signal: call.upstreamSignal ?? call.signal,
        provider: name,
        deploymentId: call.deployment.id,
      });
      const response = data as EmbeddingResult["response"];
      if (!response || !Array.isArray(response.data)) throw malformed(name, call);
      const usage = response.usage as Record<string, unknown> | undefined;
      return { response, usage: usage ? usageFromOpenAI(usage) : null, raw: text };
    },
  };
}

/**
 * The chat body sent upstream: the request's keys in their order with `model` and `stream` set (a
 * plain call drops `stream_options`; a stream always asks for usage, so every call is measured; the
 * handler strips the usage chunk when the client did not ask). One copy filled key by key, the same
 * JSON as `{ ...request, model, stream, ... }` without the spread's slower object.
 */
export function chatBody(request: ChatRequest, model: string, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of Object.keys(request)) {
    if (key === "stream_options" && !stream) continue;
    body[key] = request[key];
  }
  body.model = model;
  body.stream = stream;
  if (stream) {
    const options = request.stream_options as object | undefined;
    body.stream_options = options ? { ...options, include_usage: true } : { include_usage: true };
  }
  return body;
}

function malformed(provider: string, call: ProviderCall): LlmuxError {
  return new LlmuxError({
    kind: "server_error",
    message: `${provider} returned an unexpected response shape`,
    provider,
    deploymentId: call.deployment.id,
  });
}
