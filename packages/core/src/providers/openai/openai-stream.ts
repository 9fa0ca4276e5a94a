import type { Readable } from "node:stream";
import { usageFromOpenAI } from "@llmux/pricing";
import { createParser } from "eventsource-parser";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import type { UpstreamSignal } from "../../router/attempt-signal";
import { BodyReader } from "../../upstream/body-reader";
import { quotedPatternFinder } from "../../upstream/quoted-pattern";
import { transportError } from "../../upstream/upstream-client";
import type { BatchedIterator, StreamItem } from "../types";
import { ContentEventShape } from "./content-event-shape";

/**
 * Decodes an OpenAI SSE stream into chunks. Each chunk keeps its raw JSON so the handler can forward
 * it byte for byte; the usage chunk is marked so it can be stripped or priced.
 */
export function openAiStream(
  body: Readable,
  context: OpenAiStreamContext,
): AsyncIterableIterator<StreamItem> & BatchedIterator<StreamItem> {
  return new OpenAiStream(body, context);
}

interface OpenAiStreamContext {
  provider: string;
  deploymentId: string;
  signal: UpstreamSignal;
  scrub?: (text: string) => string;
}

/**
 * The decoder: one upstream read at a time, every event it completes turned into an item at once
 * (`nextBatch`: one promise per read, not one per event). The SSE parser runs inline. `next` hands the
 * same items over one by one, for consumers that want an iterator.
 */
class OpenAiStream implements AsyncIterableIterator<StreamItem>, BatchedIterator<StreamItem> {
  /** Data of the events the parser completed and not yet turned into items. */
  private readonly pending: string[] = [];
  private readonly parser = createParser({ onEvent: (event) => this.pending.push(event.data) });
  private readonly reader: BodyReader;
  /** The text around the content of this stream's plain content events, once one was checked in full. */
  private readonly shape = new ContentEventShape();
  /** [DONE] seen: the stream is over and the rest of the body is drained. */
  private complete = false;
  /** No more items: [DONE], the end of the body, a failure or an early return. */
  private over = false;
  private finished = false;
  /** An error met after some items of the same read: thrown by the next call, after those items. */
  private failure: unknown;
  /** Items of the last batch not yet handed over by `next`. */
  private buffered: StreamItem[] = [];
  private taken = 0;

  constructor(
    body: Readable,
    private readonly context: OpenAiStreamContext,
  ) {
    this.reader = BodyReader.of(body);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async nextBatch(): Promise<StreamItem[] | undefined> {
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
        // Some OpenAI-compatible servers omit [DONE]; a stream that ends before any finish_reason was cut off.
        if (this.finished) return undefined;
        throw new LlmuxError({
          kind: "connection",
          message: `${this.context.provider} stream ended before [DONE]`,
          provider: this.context.provider,
          deploymentId: this.context.deploymentId,
        });
      }
      this.parser.feed(text);
      if (this.pending.length === 0) continue;
      const items = this.decodePending();
      if (items.length > 0) return items;
    }
  }

  async next(): Promise<IteratorResult<StreamItem>> {
    if (this.taken >= this.buffered.length) {
      const batch = await this.nextBatch();
      if (batch === undefined) return { value: undefined, done: true };
      this.buffered = batch;
      this.taken = 0;
    }
    return { value: this.buffered[this.taken++]!, done: false };
  }

  async return(): Promise<IteratorResult<StreamItem>> {
    this.close();
    return { value: undefined, done: true };
  }

  /** The items of the events parsed so far; stops at [DONE] or at the first failing event (kept for later). */
  private decodePending(): StreamItem[] {
    const items: StreamItem[] = [];
    const pending = this.pending;
    for (let index = 0; index < pending.length; index++) {
      const data = pending[index]!;
      if (data === "[DONE]") {
        this.complete = true;
        this.close();
        break;
      }
      try {
        items.push(this.decode(data));
      } catch (error) {
        this.failure = error;
        this.close();
        break;
      }
    }
    pending.length = 0;
    return items;
  }

  private decode(data: string): StreamItem {
    const { context } = this;
    // Most events only carry content on its way to the client: forwarded as they came, parsed only
    // if something reads their chunk (content capture, translation). Usage, errors and finish
    // reasons are found without parsing and those events are parsed here. An event shaped like the
    // last plain content event (the same text around its content) is known content-only at once.
    const content = this.shape.contentOf(data);
    if (content !== undefined) return new ContentOnlyItem(data, context, content);
    if (isContentOnly(data)) return new ContentOnlyItem(data, context, this.shape.learn(data));
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(data) as Record<string, unknown>;
    } catch {
      throw invalidEvent(context);
    }
    if (chunk.error) {
      // An error sent in-band (vLLM and others answer 200 and then an error event).
      const error = chunk.error as { message?: string; type?: string; code?: string };
      throw classifyStreamError({
        type: error.code ?? error.type,
        message: (context.scrub ?? String)(String(error.message ?? "unknown")),
        provider: context.provider,
        deploymentId: context.deploymentId,
      });
    }
    const choice = (chunk.choices as Array<{ finish_reason?: unknown }> | undefined)?.[0];
    if (choice?.finish_reason) this.finished = true;
    const usage = chunk.usage as Record<string, unknown> | null | undefined;
    if (!usage) return { chunk, raw: data };
    const choices = chunk.choices as unknown[] | undefined;
    return { chunk, raw: data, usage: usageFromOpenAI(usage), usageOnly: !choices || choices.length === 0 };
  }

  /** Stops reading: after [DONE] the rest of the body is drained (the socket is reused), else destroyed. */
  private close(): void {
    if (this.over) return;
    this.over = true;
    this.reader.close(this.complete);
  }
}

function invalidEvent(context: { provider: string; deploymentId: string }): LlmuxError {
  return new LlmuxError({
    kind: "server_error",
    message: `${context.provider} sent a stream event that is not valid JSON`,
    provider: context.provider,
    deploymentId: context.deploymentId,
  });
}

/** An event checked without parsing (`isContentOnly`): its chunk is parsed when first read. */
class ContentOnlyItem implements StreamItem {
  readonly contentOnly = true;
  private parsed: Record<string, unknown> | undefined;

  constructor(
    readonly raw: string,
    private readonly context: { provider: string; deploymentId: string },
    readonly deltaContent: string | undefined,
  ) {}

  get chunk(): Record<string, unknown> {
    if (this.parsed === undefined) {
      try {
        this.parsed = JSON.parse(this.raw) as Record<string, unknown>;
      } catch {
        throw invalidEvent(this.context);
      }
    }
    return this.parsed;
  }
}

/**
 * Whether an event's JSON text is an object with no `usage`, `error` or `finish_reason` other than
 * null. Inside JSON strings every quote is escaped, so `"usage"` followed by a colon is a key; a false
 * alarm only means the event is parsed.
 */
export function isContentOnly(data: string): boolean {
  if (data.charCodeAt(0) !== 123 /* { */ || data.charCodeAt(data.length - 1) !== 125 /* } */) return false;
  return (
    !setAnywhere(data, USAGE, findUsage) &&
    !setAnywhere(data, FINISH_REASON, findFinishReason) &&
    !setAnywhere(data, ERROR, findError)
  );
}

const USAGE = '"usage"';
const FINISH_REASON = '"finish_reason"';
const ERROR = '"error"';
const findUsage = quotedPatternFinder(USAGE);
const findFinishReason = quotedPatternFinder(FINISH_REASON);
const findError = quotedPatternFinder(ERROR);

/** Whether `key` (quoted, found by `find`) occurs as a key whose value is not `null`. */
function setAnywhere(data: string, key: string, find: (text: string, from?: number) => number): boolean {
  let at = find(data);
  while (at !== -1) {
    let index = skipSpace(data, at + key.length);
    if (data.charCodeAt(index) === 58 /* : */) {
      index = skipSpace(data, index + 1);
      if (!data.startsWith("null", index)) return true;
    }
    at = find(data, at + key.length);
  }
  return false;
}

function skipSpace(data: string, index: number): number {
  let at = index;
  while (true) {
    const code = data.charCodeAt(at);
    if (code !== 32 && code !== 10 && code !== 13 && code !== 9) return at;
    at++;
  }
}
