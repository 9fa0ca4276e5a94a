/**
 * The deterministic part of every answer: prompt measurement (hash + character count in one pass),
 * the reply text derived from it, token counts and embedding vectors.
 */
import type { Fault, FaultUsage } from "./types.js";

const WORDS = [
  "alpha",
  "bravo",
  "charlie",
  "delta",
  "echo",
  "foxtrot",
  "golf",
  "hotel",
  "india",
  "juliet",
  "kilo",
  "lima",
  "mike",
  "november",
  "oscar",
  "papa",
  "quebec",
  "romeo",
  "sierra",
  "tango",
  "uniform",
  "victor",
  "whiskey",
  "xray",
  "yankee",
  "zulu",
];

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 code units of the prompt text, plus its character count. */
export class PromptMeter {
  hash = FNV_OFFSET;
  characters = 0;

  addString(text: string): void {
    let hash = this.hash;
    for (let index = 0; index < text.length; index++) {
      hash = Math.imul(hash ^ text.charCodeAt(index), FNV_PRIME);
    }
    this.hash = hash >>> 0;
    this.characters += text.length;
  }

  addNumber(value: number): void {
    this.hash = Math.imul(this.hash ^ (value | 0), FNV_PRIME) >>> 0;
    this.characters += 4;
  }

  /**
   * Walks message content of any provider shape: strings, arrays of parts, `{ text }` parts,
   * nested `content` (tool results, Anthropic blocks), Bedrock `toolResult` / `json` members.
   */
  addContent(value: unknown): void {
    if (typeof value === "string") {
      this.addString(value);
      return;
    }
    if (typeof value === "number") {
      this.addNumber(value);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) this.addContent(item);
      return;
    }
    if (value === null || typeof value !== "object") return;
    const part = value as Record<string, unknown>;
    if (typeof part.text === "string") this.addString(part.text);
    if (part.content !== undefined) this.addContent(part.content);
    if (part.toolResult !== undefined) this.addContent(part.toolResult);
    if (part.json !== undefined) this.addString(JSON.stringify(part.json));
  }

  /** Adds the `content` of every message (OpenAI, Anthropic, Bedrock and Ollama messages alike). */
  addMessages(messages: unknown): void {
    if (!Array.isArray(messages)) return;
    for (const message of messages) {
      if (message !== null && typeof message === "object") {
        this.addContent((message as Record<string, unknown>).content);
      }
    }
  }

  /** prompt_tokens ≈ ceil(characters / 4). */
  get tokens(): number {
    return Math.ceil(this.characters / 4);
  }
}

/** A reply split into stream pieces: piece i is the i-th word with its leading space. */
export interface Reply {
  text: string;
  pieces: string[];
  /** Number of words in the reply. */
  words: number;
  /** True when maxTokens cut the reply short. */
  truncated: boolean;
}

/**
 * "Mock reply: " followed by words of a fixed list, starting at a position derived from the prompt hash:
 * the same prompt always gets the same reply. `words` counts every word, "Mock" and "reply:" included.
 * A fault's `content` replaces the text. `maxTokens` (when smaller) cuts the reply to that many words.
 */
export function buildReply(hash: number, words: number, fault: Fault | undefined, maxTokens?: number): Reply {
  let pieces: string[];
  if (fault?.content !== undefined) {
    pieces = splitWords(fault.content);
  } else {
    pieces = new Array<string>(Math.max(0, words));
    const start = hash % WORDS.length;
    for (let index = 0; index < words; index++) {
      if (index === 0) pieces[index] = "Mock";
      else if (index === 1) pieces[index] = " reply:";
      else pieces[index] = " " + WORDS[(start + index - 2) % WORDS.length];
    }
  }
  let truncated = false;
  if (typeof maxTokens === "number" && maxTokens >= 0 && maxTokens < pieces.length) {
    pieces.length = maxTokens;
    truncated = true;
  }
  const text =
    fault?.content !== undefined && !truncated
      ? fault.content
      : pieces.length === 1
        ? pieces[0]!
        : pieces.join("");
  return { text, pieces, words: countWords(pieces), truncated };
}

/** Splits text into pieces that each start at a word (keeping the whitespace before it). */
function splitWords(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let index = 0;
  while (index < text.length) {
    while (index < text.length && isSpace(text.charCodeAt(index))) index++;
    const wordStart = index;
    while (index < text.length && !isSpace(text.charCodeAt(index))) index++;
    if (index === wordStart && pieces.length > 0) {
      // Trailing whitespace stays with the last word.
      pieces[pieces.length - 1] += text.slice(start, index);
    } else {
      pieces.push(text.slice(start, index));
    }
    start = index;
  }
  return pieces;
}

function countWords(pieces: string[]): number {
  let count = 0;
  for (const piece of pieces) {
    for (let index = 0; index < piece.length; index++) {
      if (!isSpace(piece.charCodeAt(index))) {
        count++;
        break;
      }
    }
  }
  return count;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 9 || code === 13;
}

/** The usage of an answer: computed counts, overridden field by field by the fault's `usage`. */
export interface ReplyUsage {
  promptTokens: number;
  /** Completion tokens, reasoning included. */
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

/**
 * prompt_tokens = ceil(prompt characters / 4); completion_tokens = words in the reply + reasoning_tokens.
 * `cached_tokens` and `cache_read_input_tokens` stand in for each other when only one is given.
 */
export function buildUsage(promptTokens: number, replyWords: number, fault: Fault | undefined): ReplyUsage {
  const usage: Partial<FaultUsage> | undefined = fault?.usage;
  if (usage === undefined) {
    return {
      promptTokens,
      completionTokens: replyWords,
      cachedTokens: 0,
      reasoningTokens: 0,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
    };
  }
  const reasoningTokens = usage.reasoning_tokens ?? 0;
  const cacheRead = usage.cache_read_input_tokens ?? usage.cached_tokens ?? 0;
  return {
    promptTokens: usage.prompt_tokens ?? promptTokens,
    completionTokens: usage.completion_tokens ?? replyWords + reasoningTokens,
    cachedTokens: usage.cached_tokens ?? cacheRead,
    reasoningTokens,
    cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: cacheRead,
  };
}

/** A unit-length float vector derived from a hash (mulberry32 stream), rounded to 6 decimals. */
export function embeddingVector(hash: number, dimensions: number): number[] {
  const vector = new Array<number>(dimensions);
  let state = hash | 0;
  let sumOfSquares = 0;
  for (let index = 0; index < dimensions; index++) {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    const value = ((mixed ^ (mixed >>> 14)) >>> 0) / 2147483648 - 1;
    vector[index] = value;
    sumOfSquares += value * value;
  }
  const norm = Math.sqrt(sumOfSquares) || 1;
  for (let index = 0; index < dimensions; index++) {
    vector[index] = Math.round((vector[index]! / norm) * 1e6) / 1e6;
  }
  return vector;
}

/** Hash and token count of one embedding input (a string, or an array of token ids). */
export function measureInput(input: unknown): { hash: number; tokens: number } {
  const meter = new PromptMeter();
  if (Array.isArray(input)) {
    for (const token of input) meter.addNumber(Number(token));
    return { hash: meter.hash, tokens: input.length };
  }
  meter.addString(typeof input === "string" ? input : JSON.stringify(input ?? ""));
  return { hash: meter.hash, tokens: meter.tokens };
}

/** Float32 little-endian bytes in base64, as OpenAI's `encoding_format: "base64"` returns. */
export function vectorToBase64(vector: number[]): string {
  const floats = new Float32Array(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64");
}
