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
  TokenCounter,
} from "../../anthropic-format/types";
import type { Deployment } from "../../config/types";
import { LlmuxError } from "../../errors/llmux-error";
import type { ChatRequest, ChatResult, EmbeddingResult, Provider, ProviderCall, StreamItem } from "../types";
import { anthropicChatStream, anthropicEvents, anthropicNativeBody } from "./anthropic-stream";

const DEFAULT_BASE = "https://api.anthropic.com";
const DEFAULT_VERSION = "2023-06-01";

/**
 * The Anthropic Messages API provider (`anthropic/`): OpenAI chat is translated to Messages and
 * back; /v1/messages bodies go through unchanged apart from the model.
 */
export function createAnthropicProvider(
  name = "anthropic",
): Provider & NativeMessagesProvider & TokenCounter {
  const context = (call: ProviderCall) => ({
    provider: name,
    deploymentId: call.deployment.id,
    signal: call.upstreamSignal ?? call.signal,
  });

  const post = (
    call: ProviderCall,
    body: Record<string, unknown>,
    beta: string[] | undefined,
    stream: boolean,
  ) =>
    call.http.send({
      url: messagesUrl(call.deployment),
      headers: headersFor(call.deployment, beta, stream),
      body: JSON.stringify(body),
      signal: call.upstreamSignal ?? call.signal,
      provider: name,
      deploymentId: call.deployment.id,
      stream,
    });

  const readMessage = async (
    call: ProviderCall,
    body: Record<string, unknown>,
    beta?: string[],
  ): Promise<AnthropicMessage> => {
    const { data } = await call.http.json({
      url: messagesUrl(call.deployment),
      headers: headersFor(call.deployment, beta, false),
      body: JSON.stringify(body),
      signal: call.upstreamSignal ?? call.signal,
      provider: name,
      deploymentId: call.deployment.id,
    });
    const message = data as AnthropicMessage;
    if (!message || !Array.isArray(message.content)) {
      throw new LlmuxError({
        kind: "server_error",
        message: `${name} returned an unexpected response shape`,
        provider: name,
        deploymentId: call.deployment.id,
      });
    }
    return message;
  };

  return {
    name,

    async chat(request: ChatRequest, call: ProviderCall): Promise<ChatResult> {
      const { body, jsonTool } = chatToMessagesRequest(request, {
        model: call.deployment.model,
        defaultMaxTokens: defaultMaxTokens(call.deployment),
      });
      delete body.stream;
      const message = await readMessage(call, body);
      const usage = message.usage ? usageFromAnthropic(message.usage) : null;
      return {
        completion: messageToCompletion(message, usage, jsonTool ? { jsonTool } : {}),
        usage,
      };
    },

    async chatStream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterator<StreamItem>> {
      const { body, jsonTool } = chatToMessagesRequest(request, {
        model: call.deployment.model,
        defaultMaxTokens: defaultMaxTokens(call.deployment),
      });
      body.stream = true;
      const response = await post(call, body, undefined, true);
      const events = anthropicEvents(response.body, context(call));
      return anthropicChatStream(events, {
        ...context(call),
        model: call.deployment.model,
        ...(jsonTool ? { jsonTool } : {}),
      });
    },

    async embeddings(): Promise<EmbeddingResult> {
      throw new LlmuxError({
        kind: "bad_request",
        message: "Anthropic has no embeddings API; route embeddings to another provider",
        provider: name,
        code: "unsupported_for_provider",
      });
    },

    acceptsMessages: () => true,

    /** POST /v1/messages/count_tokens upstream: Anthropic's own count for this body. */
    async countTokens(
      body: AnthropicRequest,
      call: ProviderCall,
      options: NativeMessagesOptions,
    ): Promise<number> {
      const upstream: Record<string, unknown> = { ...body, model: call.deployment.model };
      for (const key of [
        "stream",
        "max_tokens",
        "metadata",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
      ])
        delete upstream[key];
      const { data } = await call.http.json({
        url: `${messagesUrl(call.deployment)}/count_tokens`,
        headers: headersFor(call.deployment, options.beta, false),
        body: JSON.stringify(upstream),
        signal: call.upstreamSignal ?? call.signal,
        provider: name,
        deploymentId: call.deployment.id,
      });
      const count = (data as { input_tokens?: unknown } | undefined)?.input_tokens;
      if (typeof count !== "number") {
        throw new LlmuxError({
          kind: "server_error",
          message: `${name} returned an unexpected count_tokens shape`,
          provider: name,
          deploymentId: call.deployment.id,
        });
      }
      return count;
    },

    async messages(
      body: AnthropicRequest,
      call: ProviderCall,
      options: NativeMessagesOptions,
    ): Promise<MessagesResult> {
      const upstream: Record<string, unknown> = { ...body, model: call.deployment.model };
      delete upstream.stream;
      const message = await readMessage(call, upstream, options.beta);
      return { message, usage: message.usage ? usageFromAnthropic(message.usage) : null };
    },

    async messagesStream(
      body: AnthropicRequest,
      call: ProviderCall,
      options: NativeMessagesOptions,
    ): Promise<AsyncIterator<MessagesStreamItem>> {
      const upstream = { ...body, model: call.deployment.model, stream: true };
      const response = await post(call, upstream, options.beta, true);
      return anthropicNativeBody(response.body, context(call));
    },
  };
}

/**
 * `{api_base}/v1/messages`; an api_base that already ends in /v1 or /v1/messages is used as it is.
 * ANTHROPIC_BASE_URL is deliberately not read: Claude Code users set it to point at this gateway.
 */
export function messagesUrl(deployment: Deployment): string {
  const base = deployment.apiBase ?? process.env.ANTHROPIC_API_BASE ?? DEFAULT_BASE;
  const trimmed = base.replace(/\/+$/, "");
  if (trimmed.endsWith("/v1/messages")) return trimmed;
  if (trimmed.endsWith("/v1")) return `${trimmed}/messages`;
  return `${trimmed}/v1/messages`;
}

function headersFor(
  deployment: Deployment,
  beta: string[] | undefined,
  stream: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "anthropic-version":
      typeof deployment.params.anthropic_version === "string"
        ? deployment.params.anthropic_version
        : DEFAULT_VERSION,
  };
  if (stream) headers.accept = "text/event-stream";
  const apiKey = deployment.apiKey ?? process.env.ANTHROPIC_API_KEY;
  if (apiKey) headers["x-api-key"] = apiKey;
  const betas = new Set<string>(beta ?? []);
  const configured = deployment.params.anthropic_beta;
  if (typeof configured === "string") for (const value of configured.split(",")) betas.add(value.trim());
  if (Array.isArray(configured))
    for (const value of configured) if (typeof value === "string") betas.add(value);
  const extra = deployment.params.extra_headers as Record<string, string> | undefined;
  if (extra) {
    for (const [key, value] of Object.entries(extra)) {
      if (key.toLowerCase() === "anthropic-beta") for (const item of value.split(",")) betas.add(item.trim());
      else headers[key.toLowerCase()] = value;
    }
  }
  betas.delete("");
  if (betas.size > 0) headers["anthropic-beta"] = [...betas].join(",");
  return headers;
}

/** The deployment's default max_tokens (litellm_params.max_tokens), for requests that set none. */
export function defaultMaxTokens(deployment: Deployment): number | undefined {
  const value = deployment.params.max_tokens;
  return typeof value === "number" && value > 0 ? value : undefined;
}
