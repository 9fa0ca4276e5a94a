import { makeUsage, type Usage } from "@llmux/pricing";
import { findDelta, plainContentEnd, plainContentOpen } from "../providers/openai/content-event-shape";
import type { StreamItem } from "../providers/types";
import { closingQuote, stringValue } from "../upstream/json-string";
import { quotedPatternFinder } from "../upstream/quoted-pattern";
import type { CallSuccess } from "./call-run";
import { countTextTokens, estimatePromptTokens } from "./estimate-tokens";

/**
 * Rebuilds the assistant message from stream chunks for the call event (text, tool calls, finish
 * reasons, response id and model). Does nothing but keep the id and model when content is not needed.
 */
export class StreamAssembler {
  private text = "";
  private readonly toolCalls: Array<{
    id?: string;
    type: string;
    function: { name: string; arguments: string };
  }> = [];
  private readonly finishReasons: string[] = [];
  private id: string | undefined;
  private model: string | undefined;

  constructor(private readonly metadataOnly: boolean) {}

  /**
   * Adds a stream item. Without content to keep, an item known to carry only content (`contentOnly`)
   * adds nothing once the id and model are known, and is not parsed.
   */
  addItem(item: StreamItem): void {
    if (item.contentOnly && this.id !== undefined && this.model !== undefined) {
      if (this.metadataOnly) return;
      // The text of a plain content event read from its raw JSON, without parsing the whole chunk.
      if (item.raw !== undefined) {
        const content = item.deltaContent ?? deltaContentOf(item.raw);
        if (content !== undefined) {
          this.text += content;
          return;
        }
      }
    }
    this.add(item.chunk);
  }

  add(chunk: Record<string, unknown>): void {
    if (this.id === undefined && typeof chunk.id === "string") this.id = chunk.id;
    if (this.model === undefined && typeof chunk.model === "string") this.model = chunk.model;
    const choices = chunk.choices as
      | Array<{ delta?: Record<string, unknown>; finish_reason?: unknown }>
      | undefined;
    if (!choices) return;
    for (const choice of choices) {
      if (typeof choice.finish_reason === "string") this.finishReasons.push(choice.finish_reason);
      if (this.metadataOnly || !choice.delta) continue;
      const delta = choice.delta;
      if (typeof delta.content === "string") this.text += delta.content;
      const calls = delta.tool_calls as
        | Array<{
            index?: number;
            id?: string;
            type?: string;
            function?: { name?: string; arguments?: string };
          }>
        | undefined;
      if (calls) {
        for (const call of calls) {
          const index = call.index ?? this.toolCalls.length;
          let slot = this.toolCalls[index];
          if (!slot) {
            slot = { type: "function", function: { name: "", arguments: "" } };
            this.toolCalls[index] = slot;
          }
          if (call.id) slot.id = call.id;
          if (call.function?.name) slot.function.name += call.function.name;
          if (call.function?.arguments) slot.function.arguments += call.function.arguments;
        }
      }
    }
  }

  describe(result: CallSuccess): void {
    if (this.id) result.responseId = this.id;
    if (this.model) result.responseModel = this.model;
    result.finishReasons = this.finishReasons;
    if (!this.metadataOnly) {
      const message: Record<string, unknown> = { role: "assistant", content: this.text };
      if (this.toolCalls.length > 0) message.tool_calls = this.toolCalls;
      result.response = [message];
    }
  }
}

/**
 * The `delta.content` of a content-only chunk's JSON text ("" for null), read without parsing the
 * chunk; undefined when the text is not plainly one choice with one content string and no tool calls
 * (the caller then parses the chunk). Inside JSON strings every quote is escaped, so `"content"`
 * preceded by `{` or `,` and followed by a colon is a key; its string value is cut at its closing
 * quote and parsed alone.
 */
export function deltaContentOf(raw: string): string | undefined {
  // The usual event: a delta that holds one content string and nothing else, read in one pass (no
  // other key of the delta can hold tool calls or a second content; a second delta makes it parsed).
  const open = plainContentOpen(raw);
  if (open !== -1) return stringValue(raw, open, plainContentEnd());
  const delta = findDelta(raw);
  if (delta === -1) return undefined;
  if (findDelta(raw, delta + 8) !== -1) return undefined;
  if (findToolCalls(raw) !== -1) return undefined;
  const key = findContent(raw, delta);
  if (key === -1) return findContent(raw) !== -1 ? undefined : "";
  if (findContent(raw) !== key || findContent(raw, key + 9) !== -1) return undefined;
  // the key is the delta's own: no object opened (past the delta's) or closed between the two
  const closed = raw.indexOf("}", delta);
  if (closed !== -1 && closed < key) return undefined;
  const nested = raw.indexOf("{", raw.indexOf("{", delta) + 1);
  if (nested !== -1 && nested < key) return undefined;
  const before = raw.charCodeAt(previousNonSpace(raw, key - 1));
  if (before !== 123 /* { */ && before !== 44 /* , */) return undefined;
  let at = key + 9;
  while (isSpace(raw.charCodeAt(at))) at++;
  if (raw.charCodeAt(at) !== 58 /* : */) return undefined;
  at++;
  while (isSpace(raw.charCodeAt(at))) at++;
  if (raw.startsWith("null", at)) return "";
  if (raw.charCodeAt(at) !== 34 /* " */) return undefined;
  const end = closingQuote(raw, at);
  return end === -1 ? undefined : stringValue(raw, at, end);
}

const findToolCalls = quotedPatternFinder('"tool_calls"');
const findContent = quotedPatternFinder('"content"');

function previousNonSpace(text: string, index: number): number {
  let at = index;
  while (at >= 0 && isSpace(text.charCodeAt(at))) at--;
  return at;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

/** Characters of unread items ProducedText holds before it reads them (and a guess for an item without raw text). */
const HELD_CHARACTERS = 64 * 1024;
const HELD_ITEM_GUESS = 256;

/**
 * The text a chat stream produced (content, reasoning, tool-call arguments), kept only to count the
 * call's usage with the tokenizer when the upstream sends no usage chunk.
 */
export class ProducedText {
  private text = "";
  /** Items not read yet: most streams report usage at the end, and then none is ever read. */
  private held: StreamItem[] = [];
  private heldCharacters = 0;

  /** Keeps an item; its text is read only if the usage must be counted (at most ~64 KiB held unread). */
  addItem(item: StreamItem): void {
    this.held.push(item);
    this.heldCharacters += item.raw?.length ?? HELD_ITEM_GUESS;
    if (this.heldCharacters > HELD_CHARACTERS) this.readHeld();
  }

  private readHeld(): void {
    const held = this.held;
    this.held = [];
    this.heldCharacters = 0;
    for (const item of held) this.add(item.chunk);
  }

  add(chunk: Record<string, unknown>): void {
    const delta = (chunk.choices as Array<{ delta?: Record<string, unknown> }> | undefined)?.[0]?.delta;
    if (!delta) return;
    if (typeof delta.content === "string") this.text += delta.content;
    if (typeof delta.reasoning_content === "string") this.text += delta.reasoning_content;
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
        if (typeof call.function?.name === "string") this.text += call.function.name;
        if (typeof call.function?.arguments === "string") this.text += call.function.arguments;
      }
    }
  }

  /** Usage counted by the tokenizer: the request's prompt and the produced text. */
  usage(body: Record<string, unknown>, model: string): Usage {
    this.readHeld();
    return makeUsage({
      inputTokens: estimatePromptTokens(body, model),
      outputTokens: countTextTokens(this.text, model),
    });
  }
}
