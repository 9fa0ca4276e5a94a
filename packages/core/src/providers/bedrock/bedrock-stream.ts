import type { Readable } from "node:stream";
import { usageFromBedrock } from "@llmux/pricing";
import type { EventStreamCodec } from "@smithy/core/event-streams";
import type { AnthropicStreamEvent } from "../../anthropic-format/types";
import { openAiUsageFrom } from "../../anthropic-format/usage-format";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import { BodyReader } from "../../upstream/body-reader";
import { transportError } from "../../upstream/upstream-client";
import type { StreamItem } from "../types";
import { finishReasonFromConverse } from "./bedrock-converse";

export interface BedrockStreamContext {
  provider: string;
  deploymentId: string;
  signal: AbortSignal;
}

interface StreamEvent {
  type: string;
  payload: Record<string, unknown>;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface EventStreamDecoding {
  codec: EventStreamCodec;
  getChunkedStream: typeof import("@smithy/core/event-streams").getChunkedStream;
}

let eventStreams: Promise<EventStreamDecoding> | undefined;

/**
 * Smithy's event-stream codec, imported on the first Bedrock stream (not when @llmux/core is
 * imported: a gateway without a Bedrock deployment never loads it). A failed import is retried.
 */
function loadEventStreams(): Promise<EventStreamDecoding> {
  eventStreams ??= import("@smithy/core/event-streams").then(
    (module) => ({
      codec: new module.EventStreamCodec(
        (bytes) => decoder.decode(bytes),
        (text) => encoder.encode(text),
      ),
      getChunkedStream: module.getChunkedStream,
    }),
    (error: unknown) => {
      eventStreams = undefined;
      throw error;
    },
  );
  return eventStreams;
}

/**
 * Decodes an AWS event stream (application/vnd.amazon.eventstream) with Smithy's maintained codec:
 * length-prefixed frames, prelude and message CRCs checked. Yields `:event-type` + JSON payload;
 * exception and error frames throw the classified error.
 */
export async function* bedrockEvents(
  body: Readable,
  context: BedrockStreamContext,
): AsyncGenerator<StreamEvent> {
  const reader = BodyReader.of(body);
  let decoding: EventStreamDecoding;
  try {
    decoding = await loadEventStreams();
  } catch (error) {
    reader.close(false);
    throw new LlmuxError({
      kind: "internal",
      message: `cannot load @smithy/core/event-streams to decode the ${context.provider} stream: ${(error as Error).message}`,
      provider: context.provider,
      deploymentId: context.deploymentId,
      cause: error,
    });
  }
  const { codec, getChunkedStream } = decoding;
  const frames = getChunkedStream(reader.bytes())[Symbol.asyncIterator]();
  let complete = false;
  try {
    while (true) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await frames.next();
      } catch (error) {
        if (context.signal.aborted || (error as { code?: string })?.code)
          throw transportError(error, context);
        throw malformed(context, (error as Error).message);
      }
      if (next.done) {
        complete = true;
        return;
      }
      let message: ReturnType<EventStreamCodec["decode"]>;
      try {
        message = codec.decode(next.value);
      } catch (error) {
        throw malformed(context, (error as Error).message);
      }
      const header = (name: string) => {
        const value = message.headers[name]?.value;
        return typeof value === "string" ? value : undefined;
      };
      const text = decoder.decode(message.body);
      const messageType = header(":message-type") ?? "event";
      if (messageType === "error") {
        throw classifyStreamError({
          type: header(":error-code"),
          message: header(":error-message") ?? text,
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      let payload: Record<string, unknown> = {};
      if (text.length > 0) {
        try {
          payload = JSON.parse(text) as Record<string, unknown>;
        } catch {
          throw malformed(context, "an event payload is not valid JSON");
        }
      }
      if (messageType === "exception") {
        throw classifyStreamError({
          type: header(":exception-type"),
          message: typeof payload.message === "string" ? payload.message : text,
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      yield { type: header(":event-type") ?? "unknown", payload };
    }
  } finally {
    await frames.return?.(undefined);
    reader.close(complete);
  }
}

/**
 * ConverseStream events → OpenAI chunks: messageStart → role; contentBlockStart(toolUse) → tool
 * call header; contentBlockDelta text / toolUse.input / reasoningContent → deltas; messageStop →
 * finish_reason; metadata → the usage-only chunk.
 */
export async function* converseChatStream(
  events: AsyncGenerator<StreamEvent>,
  context: BedrockStreamContext & { id: string; model: string; jsonTool?: string },
): AsyncGenerator<StreamItem> {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): StreamItem => ({
    chunk: {
      id: context.id,
      object: "chat.completion.chunk",
      created,
      model: context.model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    },
  });
  const toolIndexByBlock = new Map<number, number>();
  const jsonBlocks = new Set<number>();
  let stopped = false;
  try {
    for await (const { type, payload } of events) {
      const blockIndex = Number(payload.contentBlockIndex ?? 0);
      switch (type) {
        case "messageStart":
          yield chunk({ role: "assistant", content: "" });
          break;
        case "contentBlockStart": {
          const toolUse = (payload.start as { toolUse?: { toolUseId?: string; name?: string } } | undefined)
            ?.toolUse;
          if (!toolUse) break;
          if (context.jsonTool && toolUse.name === context.jsonTool) {
            jsonBlocks.add(blockIndex);
            break;
          }
          const toolIndex = toolIndexByBlock.size;
          toolIndexByBlock.set(blockIndex, toolIndex);
          yield chunk({
            tool_calls: [
              {
                index: toolIndex,
                id: toolUse.toolUseId,
                type: "function",
                function: { name: toolUse.name, arguments: "" },
              },
            ],
          });
          break;
        }
        case "contentBlockDelta": {
          const delta = (payload.delta ?? {}) as Record<string, unknown>;
          if (typeof delta.text === "string") yield chunk({ content: delta.text });
          const input = (delta.toolUse as { input?: unknown } | undefined)?.input;
          if (typeof input === "string" && input.length > 0) {
            if (jsonBlocks.has(blockIndex)) yield chunk({ content: input });
            else {
              const toolIndex = toolIndexByBlock.get(blockIndex);
              if (toolIndex !== undefined)
                yield chunk({ tool_calls: [{ index: toolIndex, function: { arguments: input } }] });
            }
          }
          const reasoning = (delta.reasoningContent as { text?: unknown } | undefined)?.text;
          if (typeof reasoning === "string") yield chunk({ reasoning_content: reasoning });
          break;
        }
        case "messageStop": {
          stopped = true;
          let finishReason = finishReasonFromConverse(payload.stopReason);
          if (finishReason === "tool_calls" && toolIndexByBlock.size === 0 && jsonBlocks.size > 0)
            finishReason = "stop";
          yield chunk({}, finishReason);
          break;
        }
        case "metadata": {
          const usage = usageFromBedrock((payload.usage ?? {}) as Record<string, unknown>);
          yield {
            chunk: {
              id: context.id,
              object: "chat.completion.chunk",
              created,
              model: context.model,
              choices: [],
              usage: openAiUsageFrom(usage),
            },
            usage,
            usageOnly: true,
          };
          return;
        }
        default:
          break;
      }
    }
    if (!stopped) {
      throw new LlmuxError({
        kind: "connection",
        message: `${context.provider} stream ended before messageStop`,
        provider: context.provider,
        deploymentId: context.deploymentId,
      });
    }
  } finally {
    await events.return(undefined);
  }
}

/**
 * InvokeModelWithResponseStream for Claude: each `chunk` event carries base64 bytes of one
 * Anthropic stream event. Bedrock's invocation metrics on the last event are removed.
 */
export async function* invokeAnthropicEvents(
  events: AsyncGenerator<StreamEvent>,
  context: BedrockStreamContext,
): AsyncGenerator<{ event: AnthropicStreamEvent; raw?: string }> {
  try {
    for await (const { type, payload } of events) {
      if (type !== "chunk" || typeof payload.bytes !== "string") continue;
      const raw = Buffer.from(payload.bytes, "base64").toString("utf8");
      let event: AnthropicStreamEvent;
      try {
        event = JSON.parse(raw) as AnthropicStreamEvent;
      } catch {
        throw malformed(context, "a chunk is not valid JSON");
      }
      if ("amazon-bedrock-invocationMetrics" in event) {
        const { "amazon-bedrock-invocationMetrics": _metrics, ...rest } = event;
        yield { event: rest as AnthropicStreamEvent };
      } else {
        yield { event, raw };
      }
    }
  } finally {
    await events.return(undefined);
  }
}

function malformed(context: BedrockStreamContext, detail: string): LlmuxError {
  return new LlmuxError({
    kind: "server_error",
    message: `${context.provider} sent a malformed event stream: ${detail}`,
    provider: context.provider,
    deploymentId: context.deploymentId,
  });
}
