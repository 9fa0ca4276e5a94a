import type { Usage } from "@llmux/pricing";
import type { Deployment } from "../config/types";
import type { ProviderCall } from "../providers/types";

/**
 * Anthropic Messages API shapes (https://docs.anthropic.com/en/api/messages), kept loose: unknown
 * fields pass through so new API features reach the upstream untouched.
 */

export type AnthropicContentBlock = Record<string, unknown> & { type: string };

export interface AnthropicMessageParam {
  /** "system": a mid-conversation system message (beta mid-conversation-system-2026-04-07, sent by Claude Code 2.1). */
  role: "user" | "assistant" | "system";
  content: string | AnthropicContentBlock[];
}

/** A Messages request body (POST /v1/messages). */
export type AnthropicRequest = Record<string, unknown> & {
  model: string;
  messages: AnthropicMessageParam[];
  max_tokens?: number;
  system?: string | AnthropicContentBlock[];
  stream?: boolean;
};

/** Anthropic's usage object (input_tokens excludes cache reads and writes). */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  [key: string]: unknown;
}

/** A Message (the non-streaming response). */
export type AnthropicMessage = Record<string, unknown> & {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
};

/** One streaming event (message_start, content_block_delta, message_delta, ...). */
export type AnthropicStreamEvent = Record<string, unknown> & { type: string };

/** One event from a Messages stream; `raw` is the upstream data text when it can be forwarded unchanged. */
export interface MessagesStreamItem {
  event: AnthropicStreamEvent;
  raw?: string;
  /** Set on the event that completes the call's usage (message_delta). */
  usage?: Usage;
}

export interface MessagesResult {
  message: AnthropicMessage;
  usage: Usage | null;
}

/** What the /v1/messages route hands a native provider besides the body. */
export interface NativeMessagesOptions {
  /** The client's `anthropic-beta` header values. */
  beta?: string[];
}

/**
 * A provider that takes Anthropic Messages bodies as they are (anthropic/, bedrock/ Claude). The
 * /v1/messages route passes such deployments the client's body with only `model` replaced;
 * every other provider gets the body translated to OpenAI chat and back.
 */
export interface NativeMessagesProvider {
  acceptsMessages(deployment: Deployment): boolean;
  messages(
    body: AnthropicRequest,
    call: ProviderCall,
    options: NativeMessagesOptions,
  ): Promise<MessagesResult>;
  messagesStream(
    body: AnthropicRequest,
    call: ProviderCall,
    options: NativeMessagesOptions,
  ): Promise<AsyncIterator<MessagesStreamItem>>;
}

export function isNativeMessagesProvider(provider: unknown): provider is NativeMessagesProvider {
  const candidate = provider as Partial<NativeMessagesProvider> | undefined;
  return (
    typeof candidate?.acceptsMessages === "function" &&
    typeof candidate.messages === "function" &&
    typeof candidate.messagesStream === "function"
  );
}

/** A provider that counts a Messages body's input tokens itself (Anthropic's count_tokens). */
export interface TokenCounter {
  countTokens(body: AnthropicRequest, call: ProviderCall, options: NativeMessagesOptions): Promise<number>;
}

export function isTokenCounter(provider: unknown): provider is TokenCounter {
  return typeof (provider as Partial<TokenCounter> | undefined)?.countTokens === "function";
}
