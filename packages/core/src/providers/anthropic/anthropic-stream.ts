import type { Readable } from "node:stream";
import { usageFromAnthropic } from "@llmux/pricing";
import { EventsToChunks } from "../../anthropic-format/events-to-chunks";
import type { AnthropicStreamEvent, AnthropicUsage, MessagesStreamItem } from "../../anthropic-format/types";
import { mergeAnthropicUsage } from "../../anthropic-format/usage-format";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import type { UpstreamSignal } from "../../router/attempt-signal";
import { readSse } from "../../upstream/read-sse";
import { transportError } from "../../upstream/upstream-client";
import type { StreamItem } from "../types";

export interface AnthropicStreamContext {
  provider: string;
  deploymentId: string;
  signal: UpstreamSignal;
}

/**
 * Decodes Anthropic's SSE stream (event: message_start / content_block_* / message_delta /
 * message_stop, ping, error) into parsed events with their raw data text.
 */
export async function* anthropicEvents(
  body: Readable,
  context: AnthropicStreamContext,
): AsyncGenerator<{ event: AnthropicStreamEvent; raw: string }> {
  const events = readSse(body);
  try {
    while (true) {
      let next: IteratorResult<{ data: string; event?: string | undefined }>;
      try {
        next = await events.next();
      } catch (error) {
        throw transportError(error, context);
      }
      if (next.done) return;
      const raw = next.value.data;
      let event: AnthropicStreamEvent;
      try {
        event = JSON.parse(raw) as AnthropicStreamEvent;
      } catch {
        throw new LlmuxError({
          kind: "server_error",
          message: `${context.provider} sent a stream event that is not valid JSON`,
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      if (typeof event?.type !== "string") event = { ...event, type: next.value.event ?? "unknown" };
      yield { event, raw };
    }
  } finally {
    await events.return(undefined);
  }
}

/** Anthropic events → OpenAI chunks (the `anthropic/` provider's chat stream). */
export async function* anthropicChatStream(
  events: AsyncGenerator<{ event: AnthropicStreamEvent }>,
  context: AnthropicStreamContext & { model: string; jsonTool?: string },
): AsyncGenerator<StreamItem> {
  const converter = new EventsToChunks(context);
  try {
    for await (const { event } of events) {
      for (const item of converter.push(event)) yield item;
      if (converter.done) return;
    }
    throw cutOff(context);
  } finally {
    await events.return(undefined);
  }
}

/**
 * Anthropic events as they are (native /v1/messages passthrough): the usage of message_start and
 * message_delta is merged and reported on message_delta; `error` events throw the classified error.
 */
export async function* anthropicNativeStream(
  events: AsyncGenerator<{ event: AnthropicStreamEvent; raw?: string }>,
  context: AnthropicStreamContext,
): AsyncGenerator<MessagesStreamItem> {
  let usage: AnthropicUsage | undefined;
  let reported = false;
  try {
    for await (const { event, raw } of events) {
      if (event.type === "error") {
        const error = (event.error ?? {}) as { type?: string; message?: string };
        throw classifyStreamError({ type: error.type, message: error.message, ...context });
      }
      const item: MessagesStreamItem = raw === undefined ? { event } : { event, raw };
      if (event.type === "message_start") {
        usage = mergeAnthropicUsage(usage, (event.message as { usage?: unknown } | undefined)?.usage);
      } else if (event.type === "message_delta") {
        usage = mergeAnthropicUsage(usage, event.usage);
        item.usage = usageFromAnthropic(usage);
        reported = true;
      } else if (event.type === "message_stop" && !reported && usage) {
        item.usage = usageFromAnthropic(usage);
      }
      yield item;
      if (event.type === "message_stop") return;
    }
    throw cutOff(context);
  } finally {
    await events.return(undefined);
  }
}

function cutOff(context: AnthropicStreamContext): LlmuxError {
  return new LlmuxError({
    kind: "connection",
    message: `${context.provider} stream ended before message_stop`,
    provider: context.provider,
    deploymentId: context.deploymentId,
  });
}
