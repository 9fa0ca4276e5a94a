import type { CallEvent } from "@llmux/callbacks";
import { type CostBreakdown, makeUsage, type Usage } from "@llmux/pricing";
import { ChunksToEvents } from "../anthropic-format/chunks-to-events";
import { completionToMessage } from "../anthropic-format/completion-to-message";
import { MessageAssembler } from "../anthropic-format/message-assembler";
import { messagesToChatRequest } from "../anthropic-format/messages-to-chat-request";
import {
  type AnthropicMessage,
  type AnthropicRequest,
  type AnthropicStreamEvent,
  isNativeMessagesProvider,
  isTokenCounter,
  type MessagesResult,
  type MessagesStreamItem,
  type NativeMessagesOptions,
  type NativeMessagesProvider,
} from "../anthropic-format/types";
import { hitBody } from "../cache/hit-body";
import type { CacheEntry, CachePlan, ResponseCache } from "../cache/response-cache";
import type { Deployment } from "../config/types";
import { type LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { ChatRequest, Provider, ProviderCall, StreamItem } from "../providers/types";
import type { ActiveAttempt } from "../router/router";
import { countPromptTokens } from "../tokens/count-prompt";
import { encodingForModel, loadTokenizer } from "../tokens/tokenizer";
import { replayCached } from "./cache-replay";
import { type CallInput, CallRun, type CallSuccess } from "./call-run";
import { copyWith } from "./copy-with";
import { countTextTokens, estimatePromptTokens } from "./estimate-tokens";
import type { GatewayInternals } from "./gateway-internals";
import { HitOutcome, StreamOutcomeView } from "./lazy-members";
import type { AbortSource } from "./provider-call";
import { driveStream, readFirstItem } from "./stream-driver";

/**
 * The gateway's Anthropic Messages entry point (POST /v1/messages): the same router, retries,
 * fallbacks, callbacks and pricing as chat, with callType "messages". Deployments whose provider
 * speaks Messages natively (anthropic/, bedrock/ Claude) get the client's body with only the
 * model replaced; every other deployment gets it translated to OpenAI chat, and the answer (or
 * stream) translated back to Anthropic's shape.
 */

export interface MessagesOutcome {
  body: AnthropicMessage;
  /** `body`'s JSON text when it can be sent unchanged (a cache hit's). */
  raw?: string;
  headers: Record<string, string>;
  event?: CallEvent;
}

export interface MessagesStreamOutcome {
  headers: Record<string, string>;
  /** Anthropic stream events as they arrive. Throws LlmuxError mid-stream. */
  events: AsyncGenerator<MessagesStreamItem>;
  /**
   * The events of the next upstream read (one promise per read; possibly none), or undefined at the
   * end. Rejects with a LlmuxError mid-stream. Use this or `events`, not both.
   */
  nextBatch(): Promise<MessagesStreamItem[] | undefined>;
  /** Abandons the stream, also before its first event was taken (releases the attempt and upstream). */
  cancel(): Promise<void>;
  /** Trailers to send after the last event (`x-llmux-response-cost`, once priced). */
  trailers?(): Record<string, string>;
}

/** What a count_tokens call costs: nothing (Anthropic does not charge for it; the tokenizer is local). */
const FREE: CostBreakdown = {
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheCreation: 0,
  total: 0,
  currency: "USD",
};

/** A count_tokens answer: Anthropic's own count, or the gateway's tokenizer estimate. */
export interface TokenCount {
  inputTokens: number;
  /** "provider": counted by the deployment's upstream; "estimate": by the gateway's tokenizer. */
  source: "provider" | "estimate";
  /** The deployment that counted (provider source) or whose model named the encoding. */
  deploymentId?: string;
}

export interface MessagesCalls {
  /**
   * POST /v1/messages/count_tokens: forwarded to the group's first Anthropic deployment (beta flags
   * included); for every other deployment counted with the tokenizer (and said so in `source`).
   */
  countMessagesTokens(input: CallInput, options: NativeMessagesOptions): Promise<TokenCount>;
  messages(input: CallInput, options?: NativeMessagesOptions): Promise<MessagesOutcome>;
  messagesStream(input: CallInput, options?: NativeMessagesOptions): Promise<MessagesStreamOutcome>;
}

/** What the entry point needs from createGateway's closure. */
export interface MessagesCallDeps {
  gateway: () => GatewayInternals;
  providerOf(deployment: Deployment): Provider;
  providerCall(deployment: Deployment, abort: AbortSource, body: Record<string, unknown>): ProviderCall;
  stripCredentials(body: Record<string, unknown>): Record<string, unknown>;
  failure(run: CallRun, raw: unknown): LlmuxError;
  baseHeaders(
    run: CallRun,
    deployment: Deployment,
    attempts: number,
    openAttemptStart?: number,
  ): Record<string, string>;
  /** Ends a routed non-streaming call (attempt, price, headers, final event); see createGateway. */
  settle(
    run: CallRun,
    attempt: ActiveAttempt,
    usage: Usage | null,
    describe: (result: CallSuccess) => void,
  ): { headers: Record<string, string>; event: CallEvent | undefined };
  /** Registers a running stream so a graceful stop can end it in-band (see driveStream's `track`). */
  trackStream(end: (error: LlmuxError) => void): () => void;
  /** The response cache (litellm_settings.cache), shared with chat and embeddings. */
  cache: {
    plan(callType: "messages", input: CallInput, stream: boolean): CachePlan | undefined;
    store(): ResponseCache | undefined;
    /** Settles a hit (cost 0, the saving recorded); undefined when the answering deployment is gone. */
    settleHit(
      run: CallRun,
      entry: CacheEntry,
      describe: (result: CallSuccess) => void,
    ): { headers: Record<string, string>; event: CallEvent | undefined } | undefined;
    costOf(headers: Record<string, string>): number | null;
    /** The answering deployment and a hit's headers; undefined when that deployment is gone. */
    hitHeaders(
      run: CallRun,
      entry: CacheEntry,
    ): { deployment: Deployment; headers: Record<string, string> } | undefined;
  };
}

export function createMessagesCalls(deps: MessagesCallDeps): MessagesCalls {
  /** The body sent to native providers: gateway keys removed, Anthropic's metadata.user_id kept. */
  const nativeBody = (input: CallInput): AnthropicRequest => {
    const stripped = deps.stripCredentials(input.body) as AnthropicRequest;
    const userId = (input.body.metadata as { user_id?: unknown } | undefined)?.user_id;
    // a copy with metadata set (Claude Code sends a user_id on every call), made without a key added to
    // a spread copy (see copy-with.ts)
    return typeof userId === "string"
      ? copyWith(stripped, { metadata: { user_id: userId } })
      : { ...stripped };
  };

  /** The provider as a native Messages provider when it takes this deployment's Messages bodies. */
  const nativeFor = (deployment: Deployment): NativeMessagesProvider | undefined => {
    const provider = deps.providerOf(deployment);
    return isNativeMessagesProvider(provider) && provider.acceptsMessages(deployment) ? provider : undefined;
  };

  return {
    async countMessagesTokens(input, options) {
      const gateway = deps.gateway();
      const body = input.body;
      // One call event (callType "count_tokens"): no usage (nothing was consumed), cost 0, the count
      // and its source in `tokenCount`.
      const run = new CallRun(gateway, input);
      run.begin();
      const group = gateway.router.resolveGroup(String(body.model)) ?? String(body.model);
      const deployments = gateway.router.deployments(group);
      const settle = (deployment: Deployment | undefined, count: TokenCount): TokenCount => {
        if (deployment)
          run.succeed(
            { deployment, usage: null, tokenCount: { inputTokens: count.inputTokens, source: count.source } },
            { cost: FREE },
          );
        return count;
      };
      for (const deployment of deployments) {
        const provider = deps.providerOf(deployment);
        if (!isTokenCounter(provider)) continue;
        try {
          const call = deps.providerCall(deployment, input, body);
          const counted = await provider.countTokens(
            { ...(deps.stripCredentials(body) as AnthropicRequest) },
            call,
            options,
          );
          return settle(deployment, {
            inputTokens: counted,
            source: "provider",
            deploymentId: deployment.id,
          });
        } catch (raw) {
          const error = toLlmuxError(raw);
          run.fail(error, deployment);
          throw error;
        }
      }
      const model = deployments[0]?.model ?? String(body.model);
      await loadTokenizer(encodingForModel(model));
      const count: TokenCount = { inputTokens: countPromptTokens(body, model), source: "estimate" };
      if (deployments[0]) count.deploymentId = deployments[0].id;
      return settle(deployments[0], count);
    },

    async messages(input, options = {}) {
      const gateway = deps.gateway();
      const run = new CallRun(gateway, input);
      run.begin();
      try {
        const plan = deps.cache.plan("messages", input, false);
        const cached = plan ? await deps.cache.store()!.get(plan) : undefined;
        if (cached?.body) {
          const answer = hitBody<AnthropicMessage>(cached);
          const hit = deps.cache.settleHit(run, cached, (result) =>
            describeMessage(result, answer.body, run),
          );
          if (hit) {
            const outcome: MessagesOutcome = new HitOutcome(answer, hit.headers);
            if (hit.event) outcome.event = hit.event;
            return outcome;
          }
        }
        const body = nativeBody(input);
        let translated: ChatRequest | undefined;
        const routed = await gateway.router.route(
          run.routeRequest(String(input.body.model), () => estimatePromptTokens(input.body)),
          async (attempt): Promise<MessagesResult> => {
            const call = deps.providerCall(attempt.deployment, attempt, input.body);
            const native = nativeFor(attempt.deployment);
            if (native) return native.messages(body, call, options);
            translated ??= messagesToChatRequest(copyWith(body, { stream: false }));
            const { completion, usage } = await deps.providerOf(attempt.deployment).chat(translated, call);
            return { message: completionToMessage(completion, usage), usage };
          },
        );
        const { message, usage } = routed.value;
        const { headers, event } = deps.settle(run, routed.attempt, usage, (result) => {
          describeMessage(result, message, run);
          if (plan) result.cache = { hit: false };
        });
        if (plan) {
          headers["x-llmux-cache"] = "miss";
          deps.cache.store()!.set(plan, {
            v: 1,
            callType: "messages",
            createdAt: Date.now(),
            deploymentId: routed.attempt.deployment.id,
            usage,
            cost: deps.cache.costOf(headers),
            body: message as unknown as Record<string, unknown>,
          });
        }
        return event ? { body: message, headers, event } : { body: message, headers };
      } catch (raw) {
        throw deps.failure(run, raw);
      }
    },

    async messagesStream(input, options = {}) {
      const gateway = deps.gateway();
      const run = new CallRun(gateway, input);
      run.begin();
      try {
        const plan = deps.cache.plan("messages", input, true);
        const cached = plan ? await deps.cache.store()!.get(plan) : undefined;
        if (cached?.events) {
          const replay = replayMessages(deps, run, cached);
          if (replay) return replay;
        }
        const body = nativeBody(input);
        const estimatedInputTokens = estimatePromptTokens(input.body);
        let translated: ChatRequest | undefined;
        const routed = await gateway.router.route(
          run.routeRequest(String(input.body.model), () => estimatedInputTokens),
          async (attempt) => {
            const call = deps.providerCall(attempt.deployment, attempt, input.body);
            const native = nativeFor(attempt.deployment);
            let iterator: AsyncIterator<MessagesStreamItem>;
            if (native) {
              iterator = await native.messagesStream(copyWith(body, { stream: true }), call, options);
            } else {
              translated ??= messagesToChatRequest(copyWith(body, { stream: true }));
              const chunks = await deps.providerOf(attempt.deployment).chatStream(translated, call);
              iterator = translateStream(chunks, {
                id: `msg_${input.callId.replace(/-/g, "")}`,
                model: attempt.deployment.model,
                estimatedInputTokens,
              });
            }
            return readFirstItem(
              iterator,
              attempt,
              attempt.deployment.timeoutMs ?? gateway.config.router.timeoutMs,
            );
          },
        );
        const { attempt } = routed;
        const headers = deps.baseHeaders(run, attempt.deployment, run.attempts.length + 1, attempt.startTime);
        // Nothing reads what the assembler gathers when no event is made (nothing listens).
        const assembler = run.listening
          ? new MessageAssembler(run.redacted || !gateway.wantsContent())
          : undefined;
        let produced = "";
        // a miss that may be stored keeps the events (as sent, final usage included) to the end
        const kept: CacheEntry["events"] = plan?.write ? [] : undefined;
        if (plan) headers["x-llmux-cache"] = "miss";
        const driven = driveStream<MessagesStreamItem>({
          run,
          routed,
          signal: input.clientAbort ?? input.signal,
          failure: deps.failure,
          track: deps.trackStream,
          usageOf: (item) => item.usage,
          observe: (item) => {
            assembler?.add(item.event);
            kept?.push(item.usage ? { event: item.event, usage: item.usage } : { event: item.event });
            const delta = item.event.delta as Record<string, unknown> | undefined;
            if (item.event.type === "content_block_delta" && delta) {
              const text = delta.text ?? delta.thinking ?? delta.partial_json;
              if (typeof text === "string") produced += text;
            }
          },
          estimateUsage: () =>
            makeUsage({
              inputTokens: estimatePromptTokens(input.body, attempt.deployment.model),
              outputTokens: countTextTokens(produced, attempt.deployment.model),
            }),
          describe: (result) => {
            if (assembler) describeAssembled(result, assembler, run, gateway.wantsContent());
            if (!plan) return;
            result.cache = { hit: false };
            if (kept) {
              const cost = result.usage ? run.price(attempt.deployment, result.usage).cost?.total : undefined;
              deps.cache.store()!.set(plan, {
                v: 1,
                callType: "messages",
                createdAt: Date.now(),
                deploymentId: attempt.deployment.id,
                usage: result.usage,
                cost: cost ?? null,
                events: kept,
              });
            }
          },
          present: (item, price) => {
            if (!item.usage || item.event.type !== "message_delta") return item;
            // The final usage event reports the call's cost, as the OpenAI route's usage chunk does.
            const eventUsage = (item.event.usage as Record<string, unknown> | undefined) ?? {};
            return {
              event: { ...item.event, usage: { ...eventUsage, cost: price(item.usage) } },
              usage: item.usage,
            };
          },
        });
        return new StreamOutcomeView(headers, driven);
      } catch (raw) {
        throw deps.failure(run, raw);
      }
    },
  };
}

/** What a finished non-streamed Messages call reports (model, id, stop reason, content unless redacted). */
function describeMessage(result: CallSuccess, message: AnthropicMessage, run: CallRun): void {
  if (typeof message.model === "string") result.responseModel = message.model;
  if (typeof message.id === "string") result.responseId = message.id;
  result.finishReasons = [String(message.stop_reason ?? "")];
  if (!run.redacted) result.response = [{ role: "assistant", content: message.content }];
}

/** What a finished streamed Messages call reports, from its assembled events. */
function describeAssembled(
  result: CallSuccess,
  assembler: MessageAssembler,
  run: CallRun,
  listening: boolean,
): void {
  if (assembler.id) result.responseId = assembler.id;
  if (assembler.model) result.responseModel = assembler.model;
  result.finishReasons = assembler.stopReason ? [assembler.stopReason] : [];
  if (!run.redacted && listening) result.response = assembler.content();
}

/**
 * A cached Messages stream replayed as the same events (the final usage with cost 0), settled as a hit
 * at its end so the event's timing covers the replay; undefined when the deployment that answered is
 * gone from the config (a miss then).
 */
function replayMessages(
  deps: MessagesCallDeps,
  run: CallRun,
  entry: CacheEntry,
): MessagesStreamOutcome | undefined {
  const hit = deps.cache.hitHeaders(run, entry);
  if (!hit) return undefined;
  const gateway = deps.gateway();
  const assembler = new MessageAssembler(run.redacted || !gateway.wantsContent());
  const shown: MessagesStreamItem[] = [];
  for (const item of entry.events ?? []) {
    const event = item.event as AnthropicStreamEvent;
    assembler.add(event);
    if (!item.usage) shown.push({ event });
    else {
      const usage = (event.usage as Record<string, unknown> | undefined) ?? {};
      shown.push({ event: { ...event, usage: { ...usage, cost: 0 } }, usage: item.usage });
    }
  }
  const replay = replayCached({
    run,
    items: () => shown,
    failure: deps.failure,
    settle: () =>
      deps.cache.settleHit(run, entry, (result) =>
        describeAssembled(result, assembler, run, gateway.wantsContent()),
      ),
  });
  const outcome: MessagesStreamOutcome = new StreamOutcomeView(hit.headers, replay);
  outcome.trailers = () => ({ "x-llmux-response-cost": "0" });
  return outcome;
}

/** An OpenAI chunk stream as Anthropic events. */
async function* translateStream(
  chunks: AsyncIterator<StreamItem>,
  context: { id: string; model: string; estimatedInputTokens: number },
): AsyncGenerator<MessagesStreamItem> {
  const converter = new ChunksToEvents(context);
  try {
    while (true) {
      const next = await chunks.next();
      if (next.done) break;
      for (const event of converter.push(next.value)) yield { event };
    }
    yield* converter.finish();
  } finally {
    await chunks.return?.(undefined);
  }
}
