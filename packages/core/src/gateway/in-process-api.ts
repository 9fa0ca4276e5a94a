import type { IncomingMessage } from "node:http";
import type { CallContext, CallEvent, CallType } from "@llmux/callbacks";
import type {
  AnthropicMessage,
  AnthropicStreamEvent,
  NativeMessagesOptions,
} from "../anthropic-format/types";
import { LlmuxError } from "../errors/llmux-error";
import type { ChatCompletion } from "../providers/types";
import { validateRequest } from "../validation/validate-request";
import { buildCallContext } from "./call-context";
import type { CallInput } from "./call-run";
import { createGateway, type Gateway } from "./create-gateway";
import type { GatewayOptions } from "./types";

/** Per-call options of the in-process API (the counterpart of the HTTP request around a body). */
export interface GatewayCallOptions {
  /** Aborting it cancels the call and closes the upstream connection (also mid-stream). */
  signal?: AbortSignal;
  /** Whole-call timeout in milliseconds (what the `x-llmux-timeout` header sets over HTTP, in seconds). */
  timeout?: number;
  /** Who the call belongs to; wins over the body's `user` and `metadata` (like `resolveContext`). */
  context?: Partial<CallContext>;
  /**
   * The host request this call serves, if any: `resolveContext(request)` runs, and its `traceparent`,
   * `x-llmux-session-id` and `x-llmux-tags` headers apply. `authorize` does not: the host's code is trusted.
   */
  request?: IncomingMessage;
  /** Keep this call's prompt and response out of events and spans. */
  noLog?: boolean;
}

/** What the HTTP route would have sent besides the body: the call id and the `x-llmux-*` headers. */
export interface GatewayCallInfo {
  callId: string;
  headers: Record<string, string>;
  /** The call's final event (usage, cost, timings), when a sink, tracer or hook listens. */
  event?: CallEvent;
}

/** An OpenAI `chat.completion.chunk`. */
export type ChatCompletionChunk = Record<string, unknown> & {
  id: string;
  model: string;
  choices: Array<Record<string, unknown>>;
  usage?: Record<string, unknown> | null;
};

/** A streamed chat completion: iterate it once; `controller.abort()` stops it and the upstream. */
export interface ChatCompletionStream extends AsyncIterable<ChatCompletionChunk> {
  readonly controller: AbortController;
}

/** Options of `messages.create`: the call options plus Anthropic's beta flags (for native deployments). */
export interface MessagesCallOptions extends GatewayCallOptions {
  /** What the `anthropic-beta` header carries over HTTP, passed to Anthropic and Bedrock Claude deployments. */
  beta?: string[];
}

/** A streamed Anthropic Message: its events (message_start … message_stop); iterate it once. */
export interface MessageStream extends AsyncIterable<AnthropicStreamEvent> {
  readonly controller: AbortController;
}

/** An OpenAI embeddings response. */
export type EmbeddingsResponse = Record<string, unknown> & {
  object: "list";
  data: Array<Record<string, unknown> & { embedding: number[] | string; index: number }>;
  model: string;
  usage?: Record<string, unknown>;
};

interface ChatBody {
  model: string;
  messages: readonly object[];
}
interface MessagesBody {
  model: string;
  messages: readonly object[];
  max_tokens: number;
}
interface EmbeddingsBody {
  model: string;
  input: unknown;
}

/**
 * The gateway called from the host's own code: OpenAI- and Anthropic-shaped requests and results, through
 * the same router, hooks, callbacks, pricing and spans as the HTTP routes.
 */
export interface GatewayClient {
  readonly gateway: Gateway;
  readonly chat: {
    readonly completions: {
      create<Body extends ChatBody & { stream?: false | null }>(
        body: Body,
        options?: GatewayCallOptions,
      ): Promise<ChatCompletion>;
      create<Body extends ChatBody & { stream: true }>(
        body: Body,
        options?: GatewayCallOptions,
      ): Promise<ChatCompletionStream>;
      create<Body extends ChatBody & { stream?: boolean | null }>(
        body: Body,
        options?: GatewayCallOptions,
      ): Promise<ChatCompletion | ChatCompletionStream>;
    };
  };
  readonly embeddings: {
    create<Body extends EmbeddingsBody>(
      body: Body,
      options?: GatewayCallOptions,
    ): Promise<EmbeddingsResponse>;
  };
  /** Anthropic's Messages API (as POST /v1/messages), routed to any deployment. */
  readonly messages: {
    create<Body extends MessagesBody & { stream?: false | null }>(
      body: Body,
      options?: MessagesCallOptions,
    ): Promise<AnthropicMessage>;
    create<Body extends MessagesBody & { stream: true }>(
      body: Body,
      options?: MessagesCallOptions,
    ): Promise<MessageStream>;
    create<Body extends MessagesBody & { stream?: boolean | null }>(
      body: Body,
      options?: MessagesCallOptions,
    ): Promise<AnthropicMessage | MessageStream>;
  };
}

const CALL_INFO = Symbol.for("llmux.call-info");

/** The call id, `x-llmux-*` headers and final event of a result or stream of the in-process API. */
export function callInfo(result: unknown): GatewayCallInfo | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  return (result as Record<symbol, GatewayCallInfo | undefined>)[CALL_INFO];
}

/**
 * `createGatewayClient(gateway)` (or gateway options) → `client.chat.completions.create(...)`,
 * `client.embeddings.create(...)`, `client.messages.create(...)`. Errors are LlmuxErrors with the status
 * the HTTP route would send.
 */
export function createGatewayClient(gatewayOrOptions: Gateway | GatewayOptions): GatewayClient {
  const gateway = isGateway(gatewayOrOptions) ? gatewayOrOptions : createGateway(gatewayOrOptions);

  async function prepare(
    callType: CallType,
    raw: Record<string, unknown>,
    options: GatewayCallOptions,
  ): Promise<{ input: CallInput; controller: AbortController; release: () => void }> {
    const startTime = Date.now();
    const callId = gateway.newCallId();
    await gateway.ready;
    validate(callType, raw);
    if (options.timeout !== undefined && !(Number.isFinite(options.timeout) && options.timeout > 0)) {
      throw new LlmuxError({ kind: "bad_request", message: "timeout must be a positive number of ms" });
    }
    const model = raw.model as string;
    if (!gateway.router.resolveGroup(model)) {
      throw new LlmuxError({
        kind: "not_found",
        message: `Model '${model}' is not configured on this gateway`,
        param: "model",
        code: "model_not_found",
      });
    }
    const request = options.request;
    const fromHost = {
      ...(request ? await gateway.options.resolveContext?.(request) : undefined),
      ...options.context,
    };
    const context = buildCallContext(raw, request?.headers ?? {}, fromHost);
    const hookState: Record<string, unknown> = {};
    const body = await gateway.runBeforeCall({
      callId,
      callType,
      modelGroup: model,
      body: raw,
      context,
      request,
      state: hookState,
    });

    const controller = new AbortController();
    const outer = options.signal;
    const abort = () => controller.abort(outer?.reason);
    if (outer?.aborted) abort();
    else outer?.addEventListener("abort", abort, { once: true });
    const carrier: CallInput["carrier"] = {};
    const traceparent = request?.headers.traceparent;
    const tracestate = request?.headers.tracestate;
    if (typeof traceparent === "string") carrier.traceparent = traceparent;
    if (typeof tracestate === "string") carrier.tracestate = tracestate;
    const input: CallInput = {
      callId,
      callType,
      body,
      context,
      stream: callType !== "embeddings" && body.stream === true,
      signal: controller.signal,
      carrier,
      request,
      noLog: options.noLog === true || body.no_log === true,
      startTime,
      hookState,
    };
    if (options.timeout !== undefined) input.timeoutMs = options.timeout;
    return { input, controller, release: () => outer?.removeEventListener("abort", abort) };
  }

  async function chatCreate(
    body: Record<string, unknown>,
    options: GatewayCallOptions = {},
  ): Promise<ChatCompletion | ChatCompletionStream> {
    const { input, controller, release } = await prepare("chat", { ...body }, options);
    if (!input.stream) {
      try {
        const outcome = await gateway.chat(input);
        return withInfo(outcome.body, outcome.headers, outcome.event);
      } finally {
        release();
      }
    }
    let outcome: Awaited<ReturnType<Gateway["chatStream"]>>;
    try {
      outcome = await gateway.chatStream(input);
    } catch (error) {
      release();
      throw error;
    }
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      try {
        for await (const item of outcome.chunks) yield item.chunk as ChatCompletionChunk;
      } finally {
        release();
      }
    }
    const iterator = chunks();
    const stream: ChatCompletionStream = {
      controller,
      [Symbol.asyncIterator]: () => iterator,
    };
    return withInfo(stream, outcome.headers, undefined);
  }

  async function messagesCreate(
    body: Record<string, unknown>,
    options: MessagesCallOptions = {},
  ): Promise<AnthropicMessage | MessageStream> {
    const { input, controller, release } = await prepare("messages", { ...body }, options);
    const native: NativeMessagesOptions = options.beta?.length ? { beta: options.beta } : {};
    if (!input.stream) {
      try {
        const outcome = await gateway.messages(input, native);
        return withInfo(outcome.body, outcome.headers, outcome.event);
      } finally {
        release();
      }
    }
    let outcome: Awaited<ReturnType<Gateway["messagesStream"]>>;
    try {
      outcome = await gateway.messagesStream(input, native);
    } catch (error) {
      release();
      throw error;
    }
    async function* events(): AsyncGenerator<AnthropicStreamEvent> {
      try {
        for await (const item of outcome.events) yield item.event;
      } finally {
        release();
      }
    }
    const iterator = events();
    const stream: MessageStream = { controller, [Symbol.asyncIterator]: () => iterator };
    return withInfo(stream, outcome.headers, undefined);
  }

  const client: GatewayClient = {
    gateway,
    chat: {
      completions: {
        create: chatCreate as GatewayClient["chat"]["completions"]["create"],
      },
    },
    messages: {
      create: messagesCreate as GatewayClient["messages"]["create"],
    },
    embeddings: {
      async create(body, options = {}) {
        const { input, release } = await prepare(
          "embeddings",
          { ...body } as Record<string, unknown>,
          options,
        );
        try {
          const outcome = await gateway.embeddings(input);
          return withInfo(outcome.body as EmbeddingsResponse, outcome.headers, outcome.event);
        } finally {
          release();
        }
      },
    },
  };
  return client;
}

function withInfo<T extends object>(result: T, headers: Record<string, string>, event?: CallEvent): T {
  const info: GatewayCallInfo = { callId: headers["x-llmux-call-id"] ?? "", headers };
  if (event) info.event = event;
  Object.defineProperty(result, CALL_INFO, { value: info, enumerable: false, configurable: true });
  return result;
}

function validate(callType: CallType, body: Record<string, unknown>): void {
  if (callType === "chat" || callType === "embeddings" || callType === "messages")
    validateRequest(callType, body);
}

function isGateway(value: Gateway | GatewayOptions): value is Gateway {
  return (
    typeof (value as Gateway).chatStream === "function" && typeof (value as Gateway).newCallId === "function"
  );
}
