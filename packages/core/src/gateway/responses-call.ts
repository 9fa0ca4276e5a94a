import type { CallEvent } from "@llmux/callbacks";
import { makeUsage, type Usage } from "@llmux/pricing";
import type { Deployment } from "../config/types";
import { LlmuxError } from "../errors/llmux-error";
import type { StreamItem } from "../providers/types";
import { ChunksToResponseEvents } from "../responses-format/chunks-to-response-events";
import { completionToResponse, type ResponseContext } from "../responses-format/completion-to-response";
import { ownerOf, type ResponseStorage } from "../responses-format/response-storage";
import { responsesToChatRequest } from "../responses-format/responses-to-chat-request";
import {
  isNativeResponsesProvider,
  type NativeResponsesProvider,
  type ResponseItem,
  type ResponseObject,
  type ResponsesRequest,
  type ResponsesStreamItem,
} from "../responses-format/types";
import { type CallInput, CallRun } from "./call-run";
import { copyWith } from "./copy-with";
import { countTextTokens, estimatePromptTokens } from "./estimate-tokens";
import type { MessagesCallDeps } from "./messages-call";
import { driveStream, readFirstItem } from "./stream-driver";

/**
 * The gateway's Responses API entry point (POST /v1/responses): the same router, retries, fallbacks,
 * callbacks and pricing as chat, with callType "responses". OpenAI deployments (see
 * `acceptsResponses`) get the client's body with only the model replaced; every other deployment
 * gets it translated to chat and the answer (or stream) translated back. `previous_response_id` is
 * served from the gateway's own store for every provider: the stored conversation is put in front
 * of the new input before routing, so any deployment can continue any response.
 */

export interface ResponsesOutcome {
  body: ResponseObject;
  raw?: string;
  headers: Record<string, string>;
  event?: CallEvent;
}

export interface ResponsesStreamOutcome {
  headers: Record<string, string>;
  /** Responses stream events as they arrive. Throws LlmuxError mid-stream. */
  events: AsyncGenerator<ResponsesStreamItem>;
  cancel(): Promise<void>;
  /** Trailers to send after the last event (`x-llmux-response-cost`, once priced). */
  trailers?(): Record<string, string>;
}

export interface ResponsesCalls {
  responses(input: CallInput): Promise<ResponsesOutcome>;
  responsesStream(input: CallInput): Promise<ResponsesStreamOutcome>;
}

export interface ResponsesCallDeps extends MessagesCallDeps {
  store: ResponseStorage;
}

export function createResponsesCalls(deps: ResponsesCallDeps): ResponsesCalls {
  const nativeFor = (deployment: Deployment): NativeResponsesProvider | undefined => {
    const provider = deps.providerOf(deployment);
    return isNativeResponsesProvider(provider) && provider.acceptsResponses(deployment)
      ? provider
      : undefined;
  };

  /** The request with `previous_response_id` replaced by the stored conversation, and its input as items. */
  const expand = async (
    input: CallInput,
  ): Promise<{ body: ResponsesRequest; input: ResponseItem[]; items: ResponseItem[]; owner?: string }> => {
    const body = { ...deps.stripCredentials(input.body) } as ResponsesRequest;
    const owner = ownerOf(input.request);
    const caller = { owner };
    let current = inputItems(body.input);
    // item_reference to an item of a response this gateway served: the item itself, so any deployment
    // can take it (references it does not know are left for OpenAI, and refused by the translation).
    if (current.some((item) => item.type === "item_reference")) {
      const resolved: ResponseItem[] = [];
      for (const item of current) {
        if (item.type !== "item_reference" || typeof item.id !== "string") {
          resolved.push(item);
          continue;
        }
        const stored = await deps.store.item(item.id, caller);
        resolved.push(...(stored ? replayable([stored]) : [item]));
      }
      current = resolved;
      body.input = current;
    }
    const previousId = body.previous_response_id;
    if (previousId === undefined || previousId === null)
      return { body, input: current, items: current, owner };
    const stored = typeof previousId === "string" ? await deps.store.get(previousId, caller) : undefined;
    if (!stored) {
      throw new LlmuxError({
        kind: "bad_request",
        message: `Previous response with id '${String(previousId)}' not found. Responses are kept by this gateway for a limited time (in memory, or in the control plane's database when one is configured) and never when created with store: false.`,
        param: "previous_response_id",
        code: "previous_response_not_found",
      });
    }
    const items = [...(stored.items as ResponseItem[]), ...current];
    delete body.previous_response_id;
    body.input = items;
    return { body, input: current, items, owner };
  };

  const remember = (
    request: ResponsesRequest,
    expanded: { input: ResponseItem[]; items: ResponseItem[]; owner?: string },
    response: ResponseObject,
    model: string,
  ) => {
    if (request.store === false || typeof response.id !== "string") return;
    deps.store.save({
      response,
      input: expanded.input,
      items: [...expanded.items, ...replayable(response.output)],
      model,
      owner: expanded.owner,
    });
  };

  const contextFor = (input: CallInput, namespaces?: Map<string, string>) => {
    const context: ResponseContext = {
      id: `resp_${input.callId.replace(/-/g, "")}`,
      model: String(input.body.model),
      createdAt: Math.floor(input.startTime / 1000),
      request: input.body as ResponsesRequest,
    };
    if (namespaces) context.namespaces = namespaces;
    return context;
  };

  return {
    async responses(input) {
      const gateway = deps.gateway();
      const expanded = await expand(input);
      const { body } = expanded;
      const run = new CallRun(gateway, input);
      run.begin();
      try {
        let translated: ReturnType<typeof responsesToChatRequest> | undefined;
        const routed = await gateway.router.route(
          run.routeRequest(String(input.body.model), () => estimatePromptTokens(body)),
          async (attempt) => {
            const call = deps.providerCall(attempt.deployment, attempt, input.body);
            const native = nativeFor(attempt.deployment);
            if (native) return native.responses(body, call);
            translated ??= responsesToChatRequest(copyWith(body, { stream: false }));
            const { completion, usage } = await deps
              .providerOf(attempt.deployment)
              .chat(translated.request, call);
            return {
              response: completionToResponse(completion, usage, contextFor(input, translated.namespaces)),
              usage,
            };
          },
        );
        const { response, usage, raw } = routed.value;
        remember(body, expanded, response, routed.attempt.deployment.modelGroup);
        const { headers, event } = deps.settle(run, routed.attempt, usage, (result) => {
          if (typeof response.model === "string") result.responseModel = response.model;
          result.responseId = response.id;
          result.finishReasons = [String(response.status ?? "")];
          if (!run.redacted) result.response = response.output;
        });
        const outcome: ResponsesOutcome = { body: response, headers };
        if (raw !== undefined) outcome.raw = raw;
        if (event) outcome.event = event;
        return outcome;
      } catch (raw) {
        throw deps.failure(run, raw);
      }
    },

    async responsesStream(input) {
      const gateway = deps.gateway();
      const expanded = await expand(input);
      const { body } = expanded;
      const run = new CallRun(gateway, input);
      run.begin();
      try {
        const estimatedInputTokens = estimatePromptTokens(body);
        let translated: ReturnType<typeof responsesToChatRequest> | undefined;
        const routed = await gateway.router.route(
          run.routeRequest(String(input.body.model), () => estimatedInputTokens),
          async (attempt) => {
            const call = deps.providerCall(attempt.deployment, attempt, input.body);
            const native = nativeFor(attempt.deployment);
            let iterator: AsyncIterator<ResponsesStreamItem>;
            if (native) iterator = await native.responsesStream(copyWith(body, { stream: true }), call);
            else {
              translated ??= responsesToChatRequest(copyWith(body, { stream: true }));
              const chunks = await deps.providerOf(attempt.deployment).chatStream(translated.request, call);
              iterator = translateStream(
                chunks,
                contextFor(input, translated.namespaces),
                estimatedInputTokens,
              );
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
        let final: ResponseObject | undefined;
        let estimatedFinal = false;
        const driven = driveStream<ResponsesStreamItem>({
          run,
          routed,
          signal: input.clientAbort ?? input.signal,
          failure: deps.failure,
          track: deps.trackStream,
          usageOf: (item) => item.usage,
          observe: (item) => {
            if (item.event.type === "response.completed" || item.event.type === "response.incomplete") {
              final = item.event.response as ResponseObject | undefined;
              estimatedFinal = item.usageEstimated === true;
              if (final) remember(body, expanded, final, attempt.deployment.modelGroup);
            }
          },
          describe: (result) => {
            if (!final) return;
            result.responseId = final.id;
            if (typeof final.model === "string") result.responseModel = final.model;
            result.finishReasons = [String(final.status ?? "")];
            if (!run.redacted) result.response = final.output;
            if (estimatedFinal) result.usageEstimated = true;
          },
          present: (item, price) => {
            if (!item.usage) return item;
            // The final event reports the call's cost in its usage, as the chat route's usage chunk does.
            const response = (item.event.response as ResponseObject | undefined) ?? undefined;
            if (!response) return item;
            const usage = (response.usage as Record<string, unknown> | null | undefined) ?? {};
            return {
              event: {
                ...item.event,
                response: { ...response, usage: { ...usage, cost: price(item.usage) } },
              },
              usage: item.usage,
            };
          },
        });
        return { headers, events: driven.items, cancel: driven.cancel, trailers: driven.trailers };
      } catch (raw) {
        throw deps.failure(run, raw);
      }
    },
  };
}

/** The client's input as items (a string is one user message). */
export function inputItems(input: unknown): ResponseItem[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return Array.isArray(input) ? (input as ResponseItem[]) : [];
}

/**
 * Output items as they can be sent back as input: server-side ids and statuses removed (another
 * deployment may receive them); reasoning kept only when it carries encrypted_content (the only form
 * OpenAI takes back without its own store).
 */
function replayable(output: ResponseItem[]): ResponseItem[] {
  const items: ResponseItem[] = [];
  for (const item of output) {
    if (item.type === "reasoning") {
      if (typeof item.encrypted_content === "string") items.push(item);
      continue;
    }
    const { id: _id, status: _status, ...rest } = item;
    items.push(rest);
  }
  return items;
}

/** An OpenAI chunk stream as Responses events; usage estimated when the upstream reports none. */
async function* translateStream(
  chunks: AsyncIterator<StreamItem>,
  context: ResponseContext,
  estimatedInputTokens: number,
): AsyncGenerator<ResponsesStreamItem> {
  const converter = new ChunksToResponseEvents(context);
  let text = "";
  try {
    while (true) {
      const next = await chunks.next();
      if (next.done) break;
      const delta = (next.value.chunk.choices as Array<{ delta?: Record<string, unknown> }> | undefined)?.[0]
        ?.delta;
      if (typeof delta?.content === "string") text += delta.content;
      for (const event of converter.push(next.value)) yield { event };
    }
    let estimated = false;
    for (const item of converter.finish((): Usage => {
      estimated = true;
      return makeUsage({
        inputTokens: estimatedInputTokens,
        outputTokens: countTextTokens(text, context.model),
      });
    })) {
      yield item.usage && estimated ? { ...item, usageEstimated: true } : item;
    }
  } finally {
    await chunks.return?.(undefined);
  }
}
