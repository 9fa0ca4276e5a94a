import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Usage } from "@llmux/pricing";
import { estimatePromptTokens, estimateTokens } from "../../gateway/estimate-tokens";
import type {
  ChatRequest,
  ChatResult,
  EmbeddingRequest,
  EmbeddingResult,
  Provider,
  ProviderCall,
  StreamItem,
} from "../types";

/**
 * The built-in `mock/` provider: deterministic replies with real-looking usage, streaming, embeddings,
 * and no network. The reply is derived from the last user message (same prompt → same reply);
 * `litellm_params.mock_response` fixes it; `mock_latency_ms` adds a delay before the reply.
 */
const WORDS = [
  "This",
  "is",
  "a",
  "deterministic",
  "reply",
  "from",
  "the",
  "llmux",
  "mock",
  "provider",
  "for",
  "testing",
  "without",
  "keys",
  "or",
  "network",
];

export function createMockProvider(): Provider {
  return {
    name: "mock",

    async chat(request: ChatRequest, call: ProviderCall): Promise<ChatResult> {
      await delay(call);
      const text = replyFor(request, call);
      const usage = usageFor(request, text);
      const created = Math.floor(Date.now() / 1000);
      return {
        completion: {
          id: `chatcmpl-mock-${digest(text).slice(0, 16)}`,
          object: "chat.completion",
          created,
          model: call.deployment.model,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: text },
              finish_reason: "stop",
              logprobs: null,
            },
          ],
          usage: openAiUsage(usage),
        },
        usage,
      };
    },

    async chatStream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterator<StreamItem>> {
      await delay(call);
      const text = replyFor(request, call);
      const usage = usageFor(request, text);
      return mockStream(text, usage, call);
    },

    async embeddings(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResult> {
      await delay(call);
      const inputs = Array.isArray(request.input) ? request.input : [request.input];
      const dimensions = typeof request.dimensions === "number" ? request.dimensions : 8;
      const base64 = request.encoding_format === "base64";
      const data = inputs.map((input, index) => {
        const vector = vectorFor(JSON.stringify(input), dimensions);
        // encoding_format "base64": the float32 little-endian bytes, base64-encoded (as OpenAI sends them).
        const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
        return { object: "embedding", index, embedding };
      });
      const inputTokens = estimateTokens(inputs);
      const usage: Usage = { ...emptyUsage(), inputTokens, totalTokens: inputTokens };
      return {
        response: {
          object: "list",
          data,
          model: call.deployment.model,
          usage: { prompt_tokens: inputTokens, total_tokens: inputTokens },
        },
        usage,
      };
    },
  };
}

async function* mockStream(text: string, usage: Usage, call: ProviderCall): AsyncGenerator<StreamItem> {
  const id = `chatcmpl-mock-${digest(text).slice(0, 16)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = call.deployment.model;
  const base = { id, object: "chat.completion.chunk", created, model };
  const words = text.split(" ");
  for (let index = 0; index < words.length; index++) {
    if (call.signal.aborted) return;
    const content = index === 0 ? words[index] : ` ${words[index]}`;
    const delta = index === 0 ? { role: "assistant", content } : { content };
    yield { chunk: { ...base, choices: [{ index: 0, delta, finish_reason: null }] } };
  }
  yield { chunk: { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] } };
  yield { chunk: { ...base, choices: [], usage: openAiUsage(usage) }, usage, usageOnly: true };
}

function replyFor(request: ChatRequest, call: ProviderCall): string {
  const fixed = call.deployment.params.mock_response;
  if (typeof fixed === "string") return fixed;
  const last = [...request.messages].reverse().find((message) => message.role === "user");
  const prompt = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
  const seed = Number.parseInt(digest(prompt).slice(0, 8), 16);
  const count = 8 + (seed % 8);
  const words: string[] = [];
  for (let index = 0; index < count; index++) words.push(WORDS[(seed + index) % WORDS.length]!);
  return `${words.join(" ")}.`;
}

function usageFor(request: ChatRequest, text: string): Usage {
  const inputTokens = estimatePromptTokens(request);
  const outputTokens = text.split(" ").length;
  return { ...emptyUsage(), inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

function openAiUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheCreationInputTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    totalTokens: 0,
  };
}

function vectorFor(text: string, dimensions: number): number[] {
  const vector: number[] = [];
  let block = digest(text);
  while (vector.length < dimensions) {
    for (let offset = 0; offset + 4 <= block.length && vector.length < dimensions; offset += 4) {
      vector.push(Number.parseInt(block.slice(offset, offset + 4), 16) / 32768 - 1);
    }
    block = digest(block);
  }
  return vector;
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function delay(call: ProviderCall): Promise<void> {
  const latency = call.deployment.params.mock_latency_ms;
  if (typeof latency === "number" && latency > 0) await sleep(latency, undefined, { signal: call.signal });
}
