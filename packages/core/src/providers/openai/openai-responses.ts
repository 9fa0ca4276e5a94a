import { usageFromOpenAI } from "@llmux/pricing";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Deployment } from "../../config/types";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import { copyWith } from "../../gateway/copy-with";
import type {
  ResponseObject,
  ResponseStreamEvent,
  ResponsesRequest,
  ResponsesResult,
  ResponsesStreamItem,
} from "../../responses-format/types";
import type { UpstreamSignal } from "../../router/attempt-signal";
import { BodyReader } from "../../upstream/body-reader";
import { transportError } from "../../upstream/upstream-client";
import type { ProviderCall } from "../types";
import type { OpenAiTarget } from "./openai-provider";

/**
 * The OpenAI Responses API passed through (POST {api_base}/responses): the client's body with only
 * the model replaced, the upstream's JSON (or each SSE event) forwarded as is. Used for `openai/`
 * deployments on api.openai.com, or any whose `litellm_params.responses_api` is "native";
 * OpenAI-compatible servers (vLLM, Groq, ...) get the translation unless they opt in.
 */
export function acceptsResponses(name: string, deployment: Deployment): boolean {
  if (name !== "openai") return false;
  const mode = deployment.params.responses_api;
  if (mode === "native") return true;
  if (mode === "translate") return false;
  if (!deployment.apiBase) return true;
  try {
    return new URL(deployment.apiBase).hostname === "api.openai.com";
  } catch {
    return false;
  }
}

export async function openAiResponses(
  name: string,
  target: OpenAiTarget,
  body: ResponsesRequest,
  call: ProviderCall,
): Promise<ResponsesResult> {
  const upstream = copyWith(body, { model: target.model(call), stream: false });
  const { data, text } = await call.http.json({
    url: responsesUrl(call),
    headers: target.headers(call),
    body: JSON.stringify(upstream),
    signal: call.upstreamSignal ?? call.signal,
    provider: name,
    deploymentId: call.deployment.id,
  });
  const response = data as ResponseObject;
  if (!response || !Array.isArray(response.output)) {
    throw new LlmuxError({
      kind: "server_error",
      message: `${name} returned an unexpected Responses shape`,
      provider: name,
      deploymentId: call.deployment.id,
    });
  }
  const usage = response.usage ? usageFromOpenAI(response.usage) : null;
  return { response, usage, raw: text };
}

export async function openAiResponsesStream(
  name: string,
  target: OpenAiTarget,
  body: ResponsesRequest,
  call: ProviderCall,
): Promise<AsyncIterator<ResponsesStreamItem>> {
  const upstream = copyWith(body, { model: target.model(call), stream: true });
  // the target's headers are made per call (as for chat streams): added to, not copied
  const headers = target.headers(call);
  headers.accept = "text/event-stream";
  const response = await call.http.send({
    url: responsesUrl(call),
    headers,
    body: JSON.stringify(upstream),
    signal: call.upstreamSignal ?? call.signal,
    provider: name,
    deploymentId: call.deployment.id,
    stream: true,
  });
  return responsesEvents(response.body, {
    provider: name,
    deploymentId: call.deployment.id,
    signal: call.upstreamSignal ?? call.signal,
  });
}

function responsesUrl(call: ProviderCall): string {
  return `${call.deployment.apiBase ?? "https://api.openai.com/v1"}/responses`;
}

const FINAL_EVENTS = new Set(["response.completed", "response.incomplete"]);

/** Decodes a Responses SSE stream; the final event carries the usage; error events throw. */
async function* responsesEvents(
  body: import("node:stream").Readable,
  context: { provider: string; deploymentId: string; signal: UpstreamSignal },
): AsyncGenerator<ResponsesStreamItem> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const reader = BodyReader.of(body);
  let complete = false;
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
      if (data === "[DONE]") continue;
      let event: ResponseStreamEvent;
      try {
        event = JSON.parse(data) as ResponseStreamEvent;
      } catch {
        throw new LlmuxError({
          kind: "server_error",
          message: `${context.provider} sent a stream event that is not valid JSON`,
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      if (event.type === "error" || event.type === "response.failed") {
        const error = (
          event.type === "error"
            ? event
            : ((event.response as Record<string, unknown> | undefined)?.error ?? {})
        ) as {
          message?: string;
          code?: string;
          type?: string;
        };
        throw classifyStreamError({
          type: error.code ?? error.type,
          message: String(error.message ?? "the upstream reported a failed response"),
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      if (FINAL_EVENTS.has(event.type)) {
        complete = true;
        const usage = (event.response as { usage?: Record<string, unknown> | null } | undefined)?.usage;
        yield usage ? { event, raw: data, usage: usageFromOpenAI(usage) } : { event, raw: data };
        continue;
      }
      yield { event, raw: data };
    }
    if (complete) return;
    throw new LlmuxError({
      kind: "connection",
      message: `${context.provider} Responses stream ended before response.completed`,
      provider: context.provider,
      deploymentId: context.deploymentId,
    });
  } finally {
    reader.close(complete);
  }
}
