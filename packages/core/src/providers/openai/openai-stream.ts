import type { Readable } from "node:stream";
import { usageFromOpenAI } from "@llmux/pricing";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import { BodyReader } from "../../upstream/body-reader";
import { transportError } from "../../upstream/upstream-client";
import type { StreamItem } from "../types";

/**
 * Decodes an OpenAI SSE stream into chunks. Each chunk keeps its raw JSON so the handler can forward
 * it byte for byte; the usage chunk is marked so it can be stripped or priced.
 */
export async function* openAiStream(
  body: Readable,
  context: { provider: string; deploymentId: string; signal: AbortSignal; scrub?: (text: string) => string },
): AsyncGenerator<StreamItem> {
  // One generator from socket to chunk: the SSE parser runs inline (no second generator per event).
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const reader = BodyReader.of(body);
  let complete = false;
  let finished = false;
  try {
    while (true) {
      if (pending.length === 0) {
        let text: string | undefined;
        try {
          text = await reader.next();
        } catch (error) {
          throw transportError(error, context);
        }
        if (text === undefined) break;
        parser.feed(text);
        continue;
      }
      const data = pending.shift()!.data;
      if (data === "[DONE]") {
        complete = true;
        return;
      }
      // Most events only carry content on its way to the client: forwarded as they came, parsed only
      // if something reads their chunk (content capture, translation). Usage, errors and finish
      // reasons are found without parsing and those events are parsed here.
      if (isContentOnly(data)) {
        yield new ContentOnlyItem(data, context);
        continue;
      }
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
      if (choice?.finish_reason) finished = true;
      const usage = chunk.usage as Record<string, unknown> | null | undefined;
      if (usage) {
        const choices = chunk.choices as unknown[] | undefined;
        yield {
          chunk,
          raw: data,
          usage: usageFromOpenAI(usage),
          usageOnly: !choices || choices.length === 0,
        };
      } else {
        yield { chunk, raw: data };
      }
    }
    // Some OpenAI-compatible servers omit [DONE]; a stream that ends before any finish_reason was cut off.
    if (finished) return;
    throw new LlmuxError({
      kind: "connection",
      message: `${context.provider} stream ended before [DONE]`,
      provider: context.provider,
      deploymentId: context.deploymentId,
    });
  } finally {
    reader.close(complete);
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
    !setAnywhere(data, '"usage"') && !setAnywhere(data, '"finish_reason"') && !setAnywhere(data, '"error"')
  );
}

/** Whether `key` (quoted) occurs as a key whose value is not `null`. */
function setAnywhere(data: string, key: string): boolean {
  let at = data.indexOf(key);
  while (at !== -1) {
    let index = skipSpace(data, at + key.length);
    if (data.charCodeAt(index) === 58 /* : */) {
      index = skipSpace(data, index + 1);
      if (!data.startsWith("null", index)) return true;
    }
    at = data.indexOf(key, at + key.length);
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
