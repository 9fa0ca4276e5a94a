import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { usageFromOllama } from "@llmux/pricing";
import { openAiUsageFrom } from "../../anthropic-format/usage-format";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import type { UpstreamSignal } from "../../router/attempt-signal";
import { readNdjson } from "../../upstream/read-sse";
import { transportError } from "../../upstream/upstream-client";
import type { StreamItem } from "../types";

export interface OllamaStreamContext {
  provider: string;
  deploymentId: string;
  signal: UpstreamSignal;
  mode: "chat" | "generate";
}

type Part = Record<string, unknown>;

/** Ollama done_reason → OpenAI finish_reason. */
export function finishReasonFromOllama(doneReason: unknown, hasToolCalls: boolean): string {
  if (hasToolCalls) return "tool_calls";
  return doneReason === "length" ? "length" : "stop";
}

/** Ollama's tool calls (object arguments, ids only in newer versions) → OpenAI tool_calls. */
export function openAiToolCalls(calls: unknown, offset = 0): Part[] {
  if (!Array.isArray(calls)) return [];
  return (calls as Part[]).map((call, index) => {
    const fn = (call.function ?? {}) as Part;
    const args = fn.arguments;
    return {
      index: offset + index,
      id: typeof call.id === "string" ? call.id : `call_${randomUUID().replace(/-/g, "").slice(0, 24)}`,
      type: "function",
      function: {
        name: fn.name,
        arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}),
      },
    };
  });
}

/**
 * Ollama's NDJSON stream (one JSON object a line, the last with done: true and the eval counts)
 * → OpenAI chunks; the final usage-only chunk carries prompt_eval_count / eval_count.
 */
export async function* ollamaStream(
  body: Readable,
  context: OllamaStreamContext,
): AsyncGenerator<StreamItem> {
  const lines = readNdjson(body);
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  let model = "";
  let first = true;
  let toolCount = 0;
  const chunk = (delta: Part, finishReason: string | null = null): StreamItem => ({
    chunk: {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    },
  });
  try {
    while (true) {
      let next: IteratorResult<string>;
      try {
        next = await lines.next();
      } catch (error) {
        throw transportError(error, context);
      }
      if (next.done) break;
      let line: Part;
      try {
        line = JSON.parse(next.value) as Part;
      } catch {
        throw new LlmuxError({
          kind: "server_error",
          message: `${context.provider} sent a stream line that is not valid JSON`,
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      if (typeof line.error === "string") {
        throw classifyStreamError({
          type: undefined,
          message: line.error,
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      if (typeof line.model === "string") model = line.model;
      const message = (line.message ?? {}) as Part;
      const delta: Part = first ? { role: "assistant" } : {};
      const text = context.mode === "chat" ? message.content : line.response;
      if (typeof text === "string" && (text.length > 0 || first)) delta.content = text;
      const thinking = context.mode === "chat" ? message.thinking : line.thinking;
      if (typeof thinking === "string" && thinking.length > 0) delta.reasoning_content = thinking;
      const calls = openAiToolCalls(message.tool_calls, toolCount);
      if (calls.length > 0) {
        delta.tool_calls = calls;
        toolCount += calls.length;
      }
      if (Object.keys(delta).length > 0) yield chunk(delta);
      first = false;
      if (line.done === true) {
        yield chunk({}, finishReasonFromOllama(line.done_reason, toolCount > 0));
        const usage = usageFromOllama(line);
        yield {
          chunk: {
            id,
            object: "chat.completion.chunk",
            created,
            model,
            choices: [],
            usage: openAiUsageFrom(usage),
          },
          usage,
          usageOnly: true,
        };
        return;
      }
    }
    throw new LlmuxError({
      kind: "connection",
      message: `${context.provider} stream ended before its final (done) line`,
      provider: context.provider,
      deploymentId: context.deploymentId,
    });
  } finally {
    await lines.return(undefined);
  }
}
