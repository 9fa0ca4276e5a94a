import { randomUUID } from "node:crypto";
import { usageFromOllama } from "@llmux/pricing";
import { openAiUsageFrom } from "../../anthropic-format/usage-format";
import type { Deployment } from "../../config/types";
import { LlmuxError } from "../../errors/llmux-error";
import { embeddingInputs, embeddingResponse } from "../embedding-response";
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
import { ollamaChatBody, ollamaGenerateBody } from "./ollama-request";
import { finishReasonFromOllama, ollamaStream, openAiToolCalls } from "./ollama-stream";

const DEFAULT_BASE = "http://localhost:11434";

/**
 * Ollama's native API: `ollama/` uses /api/generate, `ollama_chat/` /api/chat (tools, images,
 * multi-turn); both stream NDJSON and report usage as prompt_eval_count / eval_count; embeddings
 * use /api/embed.
 */
export function createOllamaProvider(name: "ollama" | "ollama_chat" = "ollama"): Provider {
  const mode = name === "ollama_chat" ? "chat" : "generate";
  const path = mode === "chat" ? "/api/chat" : "/api/generate";

  const bodyFor = (request: ChatRequest, call: ProviderCall, stream: boolean) => {
    const defaults: Record<string, unknown> = {};
    if (call.deployment.params.keep_alive !== undefined)
      defaults.keep_alive = call.deployment.params.keep_alive;
    const configured = call.deployment.params.options;
    if (configured && typeof configured === "object") defaults.options = configured;
    const withStream = { ...request, stream };
    return mode === "chat"
      ? ollamaChatBody(withStream, call.deployment.model, defaults)
      : ollamaGenerateBody(withStream, call.deployment.model, defaults);
  };

  return {
    name,

    async chat(request: ChatRequest, call: ProviderCall): Promise<ChatResult> {
      const { data } = await call.http.json({
        url: `${ollamaBase(call.deployment)}${path}`,
        headers: headersFor(call.deployment),
        body: JSON.stringify(bodyFor(request, call, false)),
        signal: call.upstreamSignal ?? call.signal,
        provider: name,
        deploymentId: call.deployment.id,
      });
      const response = data as Record<string, unknown>;
      if (!response || typeof response !== "object" || response.done !== true) {
        throw new LlmuxError({
          kind: "server_error",
          message: `${name} returned an unexpected response shape`,
          provider: name,
          deploymentId: call.deployment.id,
        });
      }
      const usage = usageFromOllama(response);
      return { completion: ollamaToCompletion(response, mode, call.deployment.model, usage), usage };
    },

    async chatStream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterator<StreamItem>> {
      const response = await call.http.send({
        url: `${ollamaBase(call.deployment)}${path}`,
        headers: { ...headersFor(call.deployment), accept: "application/x-ndjson" },
        body: JSON.stringify(bodyFor(request, call, true)),
        signal: call.upstreamSignal ?? call.signal,
        provider: name,
        deploymentId: call.deployment.id,
        stream: true,
      });
      return ollamaStream(response.body, {
        provider: name,
        deploymentId: call.deployment.id,
        signal: call.upstreamSignal ?? call.signal,
        mode,
      });
    },

    async embeddings(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResult> {
      const inputs = embeddingInputs(request.input);
      if (!inputs) {
        throw new LlmuxError({
          kind: "bad_request",
          message: "Ollama embeddings take 'input' as a string or an array of strings",
          param: "input",
        });
      }
      const body: Record<string, unknown> = { model: call.deployment.model, input: inputs };
      if (typeof request.dimensions === "number") body.dimensions = request.dimensions;
      if (typeof request.truncate === "boolean") body.truncate = request.truncate;
      const keepAlive = request.keep_alive ?? call.deployment.params.keep_alive;
      if (keepAlive !== undefined) body.keep_alive = keepAlive;
      const { data } = await call.http.json({
        url: `${ollamaBase(call.deployment)}/api/embed`,
        headers: headersFor(call.deployment),
        body: JSON.stringify(body),
        signal: call.upstreamSignal ?? call.signal,
        provider: name,
        deploymentId: call.deployment.id,
      });
      const response = data as { embeddings?: unknown; prompt_eval_count?: unknown; model?: unknown };
      if (!Array.isArray(response?.embeddings)) {
        throw new LlmuxError({
          kind: "server_error",
          message: `${name} returned an unexpected embeddings shape`,
          provider: name,
          deploymentId: call.deployment.id,
        });
      }
      const tokens = typeof response.prompt_eval_count === "number" ? response.prompt_eval_count : null;
      return embeddingResponse(
        response.embeddings as number[][],
        typeof response.model === "string" ? response.model : call.deployment.model,
        tokens,
        request.encoding_format,
      );
    },
  };
}

function ollamaToCompletion(
  response: Record<string, unknown>,
  mode: "chat" | "generate",
  model: string,
  usage: ReturnType<typeof usageFromOllama>,
): ChatCompletion {
  const message = (response.message ?? {}) as Record<string, unknown>;
  const text = mode === "chat" ? message.content : response.response;
  const toolCalls = openAiToolCalls(message.tool_calls).map(({ index: _index, ...call }) => call);
  const assistant: Record<string, unknown> = {
    role: "assistant",
    content: typeof text === "string" && (text.length > 0 || toolCalls.length === 0) ? text : null,
  };
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  const thinking = mode === "chat" ? message.thinking : response.thinking;
  if (typeof thinking === "string" && thinking.length > 0) assistant.reasoning_content = thinking;
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: typeof response.model === "string" ? response.model : model,
    choices: [
      {
        index: 0,
        message: assistant,
        finish_reason: finishReasonFromOllama(response.done_reason, toolCalls.length > 0),
        logprobs: null,
      },
    ],
    usage: openAiUsageFrom(usage),
  };
}

function ollamaBase(deployment: Deployment): string {
  return (deployment.apiBase ?? process.env.OLLAMA_API_BASE ?? DEFAULT_BASE).replace(/\/+$/, "");
}

function headersFor(deployment: Deployment): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (deployment.apiKey) headers.authorization = `Bearer ${deployment.apiKey}`;
  const extra = deployment.params.extra_headers as Record<string, string> | undefined;
  if (extra) Object.assign(headers, extra);
  return headers;
}
