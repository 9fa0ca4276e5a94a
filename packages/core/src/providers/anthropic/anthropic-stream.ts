import type { Readable } from "node:stream";
import { usageFromAnthropic } from "@llmux/pricing";
import { createParser } from "eventsource-parser";
import { EventsToChunks } from "../../anthropic-format/events-to-chunks";
import type { AnthropicStreamEvent, AnthropicUsage, MessagesStreamItem } from "../../anthropic-format/types";
import { mergeAnthropicUsage } from "../../anthropic-format/usage-format";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import type { UpstreamSignal } from "../../router/attempt-signal";
import { BodyReader } from "../../upstream/body-reader";
import { readSse } from "../../upstream/read-sse";
import { transportError } from "../../upstream/upstream-client";
import type { BatchedIterator, StreamItem } from "../types";

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

/**
 * `anthropicNativeStream(anthropicEvents(body))` one upstream read at a time: every event a read
 * completes is parsed and turned into an item at once (`nextBatch`: one promise per read, not the
 * two generator steps per event of the composed form); `next` hands the same items over one by one.
 * The same items, usage and errors: an `error` event throws after the items of its read before it.
 * After message_stop the rest of the body is drained, so the upstream connection is reused.
 */
export function anthropicNativeBody(
  body: Readable,
  context: AnthropicStreamContext,
): AsyncIterableIterator<MessagesStreamItem> & BatchedIterator<MessagesStreamItem> {
  return new AnthropicNativeBody(body, context);
}

class AnthropicNativeBody
  implements AsyncIterableIterator<MessagesStreamItem>, BatchedIterator<MessagesStreamItem>
{
  /** Events the parser completed and not yet turned into items. */
  private readonly pending: Array<{ data: string; event: string | undefined }> = [];
  private readonly parser = createParser({
    onEvent: (event) => this.pending.push({ data: event.data, event: event.event }),
  });
  private readonly reader: BodyReader;
  private usage: AnthropicUsage | undefined;
  private reported = false;
  /** message_stop seen: the rest of the body is drained. */
  private complete = false;
  /** No more items: message_stop, a failure or an early return. */
  private over = false;
  /** An error met after some items of the same read: thrown by the next call, after those items. */
  private failure: unknown;
  /** Items of the last batch not yet handed over by `next`. */
  private buffered: MessagesStreamItem[] = [];
  private taken = 0;

  constructor(
    body: Readable,
    private readonly context: AnthropicStreamContext,
  ) {
    this.reader = BodyReader.of(body);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async nextBatch(): Promise<MessagesStreamItem[] | undefined> {
    if (this.taken < this.buffered.length) {
      const rest = this.buffered.slice(this.taken);
      this.buffered = [];
      this.taken = 0;
      return rest;
    }
    while (true) {
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        throw failure;
      }
      if (this.over) return undefined;
      let text: string | undefined;
      try {
        text = await this.reader.next();
      } catch (error) {
        this.close();
        throw transportError(error, this.context);
      }
      if (this.over) return undefined;
      if (text === undefined) {
        this.close();
        throw cutOff(this.context);
      }
      this.parser.feed(text);
      if (this.pending.length === 0) continue;
      const items = this.decodePending();
      if (items.length > 0) return items;
    }
  }

  async next(): Promise<IteratorResult<MessagesStreamItem>> {
    if (this.taken >= this.buffered.length) {
      const batch = await this.nextBatch();
      if (batch === undefined) return { value: undefined, done: true };
      this.buffered = batch;
      this.taken = 0;
    }
    return { value: this.buffered[this.taken++]!, done: false };
  }

  async return(): Promise<IteratorResult<MessagesStreamItem>> {
    this.close();
    return { value: undefined, done: true };
  }

  /** The items of the events parsed so far; stops at message_stop or at the first failing event (kept). */
  private decodePending(): MessagesStreamItem[] {
    const items: MessagesStreamItem[] = [];
    const pending = this.pending;
    for (let index = 0; index < pending.length; index++) {
      const { data, event: name } = pending[index]!;
      let item: MessagesStreamItem;
      try {
        item = this.decode(data, name);
      } catch (error) {
        this.failure = error;
        this.close();
        break;
      }
      items.push(item);
      if (item.event.type === "message_stop") {
        this.complete = true;
        this.close();
        break;
      }
    }
    pending.length = 0;
    return items;
  }

  private decode(raw: string, name: string | undefined): MessagesStreamItem {
    const { context } = this;
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
    if (typeof event?.type !== "string") event = { ...event, type: name ?? "unknown" };
    if (event.type === "error") {
      const error = (event.error ?? {}) as { type?: string; message?: string };
      throw classifyStreamError({ type: error.type, message: error.message, ...context });
    }
    const item: MessagesStreamItem = { event, raw };
    if (event.type === "message_start") {
      this.usage = mergeAnthropicUsage(this.usage, (event.message as { usage?: unknown } | undefined)?.usage);
    } else if (event.type === "message_delta") {
      this.usage = mergeAnthropicUsage(this.usage, event.usage);
      item.usage = usageFromAnthropic(this.usage);
      this.reported = true;
    } else if (event.type === "message_stop" && !this.reported && this.usage) {
      item.usage = usageFromAnthropic(this.usage);
    }
    return item;
  }

  /** Stops reading: after message_stop the rest of the body is drained (the socket is reused), else destroyed. */
  private close(): void {
    if (this.over) return;
    this.over = true;
    this.reader.close(this.complete);
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
