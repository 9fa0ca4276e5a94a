import type { Usage } from "@llmux/pricing";
import type { Deployment } from "../config/types";
import type { UpstreamSignal } from "../router/attempt-signal";
import type { UpstreamClient } from "../upstream/upstream-client";

/**
 * The provider contract. Every provider translates between the gateway's canonical format (OpenAI
 * chat completions and embeddings) and its upstream API, and has the same file set:
 * `{name}-provider.ts` (the adapter), `{name}-stream.ts` (stream decoding) and tests beside them.
 */

export type ChatRequest = Record<string, unknown> & {
  model: string;
  messages: Array<Record<string, unknown>>;
  stream?: boolean;
};

export type EmbeddingRequest = Record<string, unknown> & { model: string; input: unknown };

/** An OpenAI-format chat completion (non-stream). */
export type ChatCompletion = Record<string, unknown> & {
  id: string;
  model: string;
  choices: Array<Record<string, unknown>>;
  usage?: Record<string, unknown>;
};

export interface ProviderCall {
  deployment: Deployment;
  signal: AbortSignal;
  /**
   * The same abort without an AbortSignal (the attempt's own, cheaper to make and to listen to): what
   * the built-in providers hand the upstream request. Absent: use `signal`.
   */
  upstreamSignal?: UpstreamSignal | undefined;
  http: UpstreamClient;
}

export interface ChatResult {
  completion: ChatCompletion;
  usage: Usage | null;
  /** The upstream's JSON text when it is already the OpenAI response: forwarded as is (no re-serialising). */
  raw?: string;
}

/** One OpenAI-format chunk; `raw` is the upstream JSON text when it can be forwarded unchanged. */
export interface StreamItem {
  chunk: Record<string, unknown>;
  raw?: string;
  /** Set on the chunk that carries the call's usage (the chunk itself may also carry content). */
  usage?: Usage;
  /** True for a usage-only chunk (empty choices), which reaches the client only when it asked. */
  usageOnly?: boolean;
  /**
   * Set when the event was checked without being parsed: it carries no usage, error or finish reason
   * (content, tool-call deltas, role). `chunk` is then parsed on first read; a reader that only wants
   * the call's metadata may skip it.
   */
  contentOnly?: boolean;
  /**
   * Set on a content-only event whose first choice's delta is exactly one content string, to that
   * string (possibly empty): a reader of the content need not parse the chunk.
   */
  deltaContent?: string;
}

/**
 * A stream that also hands over every item decoded from one upstream read at once: one promise per
 * read instead of one per item. The stream driver reads any other AsyncIterator one item at a time.
 */
export interface BatchedIterator<T> extends AsyncIterator<T> {
  /**
   * The items of the next upstream read that yielded any (never empty), or undefined at the end. Items
   * decoded before a failing event come first; the next call rejects with the failure.
   */
  nextBatch(): Promise<T[] | undefined>;
}

export interface EmbeddingResult {
  response: Record<string, unknown> & { data: unknown[]; model: string };
  usage: Usage | null;
  /** The upstream's JSON text when it is already the OpenAI response. */
  raw?: string;
}

export interface Provider {
  readonly name: string;
  chat(request: ChatRequest, call: ProviderCall): Promise<ChatResult>;
  /**
   * Starts a stream. Resolves once the upstream accepted the call (2xx); HTTP errors reject with a
   * classified LlmuxError. The iterator yields chunks as they arrive and closes the upstream when
   * returned early.
   */
  chatStream(request: ChatRequest, call: ProviderCall): Promise<AsyncIterator<StreamItem>>;
  embeddings(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResult>;
}
