import type { Usage } from "@llmux/pricing";
import type { ChatCompletion } from "../providers/types";
import type { ResponseItem, ResponseObject, ResponsesRequest } from "./types";

/** What a translated answer needs besides the completion. */
export interface ResponseContext {
  /** The response id (resp_...), chosen by the gateway. */
  id: string;
  /** The model group the client asked for (echoed when the upstream names none). */
  model: string;
  createdAt: number;
  /** The client's request (its settings are echoed in the response, as OpenAI does). */
  request: ResponsesRequest;
  /** Function name → namespace, for tools the client sent inside a `namespace` tool. */
  namespaces?: Map<string, string>;
}

/** The Responses usage object from normalised usage (input includes cached; output includes reasoning). */
export function responsesUsage(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.totalTokens,
  };
}

/** The Response object's envelope: everything but output, status and usage (set by the caller). */
export function responseEnvelope(context: ResponseContext, model?: string): ResponseObject {
  const request = context.request;
  const pick = (key: string, fallback: unknown) => (request[key] === undefined ? fallback : request[key]);
  return {
    id: context.id,
    object: "response",
    created_at: context.createdAt,
    status: "in_progress",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: pick("instructions", null),
    max_output_tokens: pick("max_output_tokens", null),
    model: model && model.length > 0 ? model : context.model,
    output: [],
    parallel_tool_calls: pick("parallel_tool_calls", true),
    previous_response_id: pick("previous_response_id", null),
    reasoning: pick("reasoning", { effort: null, summary: null }),
    store: pick("store", true),
    temperature: pick("temperature", 1),
    text: pick("text", { format: { type: "text" } }),
    tool_choice: pick("tool_choice", "auto"),
    tools: pick("tools", []),
    top_p: pick("top_p", 1),
    truncation: pick("truncation", "disabled"),
    usage: null,
    user: pick("user", null),
    metadata: pick("metadata", {}),
  };
}

/** A chat finish reason as the Response's status and incomplete_details. */
export function statusFromFinishReason(finishReason: unknown): {
  status: "completed" | "incomplete";
  incomplete_details: { reason: string } | null;
} {
  if (finishReason === "length")
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finishReason === "content_filter")
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** A chat completion (from any provider) as a Response object. */
export function completionToResponse(
  completion: ChatCompletion,
  usage: Usage | null,
  context: ResponseContext,
): ResponseObject {
  const response = responseEnvelope(
    context,
    typeof completion.model === "string" ? completion.model : undefined,
  );
  const choice = completion.choices[0] ?? {};
  const message = (choice.message ?? {}) as Record<string, unknown>;
  const output: ResponseItem[] = [];
  const suffix = context.id.replace(/^resp_/, "");
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning.length > 0) {
    output.push({
      id: `rs_${suffix}`,
      type: "reasoning",
      summary: [{ type: "summary_text", text: reasoning }],
    });
  }
  const text = typeof message.content === "string" ? message.content : "";
  const toolCalls = Array.isArray(message.tool_calls)
    ? (message.tool_calls as Array<Record<string, unknown>>)
    : [];
  const refusal = typeof message.refusal === "string" && message.refusal.length > 0;
  if (text.length > 0 || (toolCalls.length === 0 && !refusal))
    output.push(messageItem(`msg_${suffix}`, text, "completed"));
  if (refusal) {
    output.push({
      id: `msg_${suffix}_refusal`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "refusal", refusal: message.refusal }],
    });
  }
  for (const [index, call] of toolCalls.entries()) {
    const fn = (call.function ?? {}) as Record<string, unknown>;
    const callId = typeof call.id === "string" ? call.id : `call_${suffix}_${index}`;
    output.push(
      functionCallItem(
        `fc_${suffix}_${index}`,
        callId,
        String(fn.name ?? ""),
        String(fn.arguments ?? ""),
        context,
      ),
    );
  }
  response.output = output;
  Object.assign(response, statusFromFinishReason(choice.finish_reason));
  response.usage = usage ? responsesUsage(usage) : null;
  return response;
}

export function messageItem(id: string, text: string, status: string): ResponseItem {
  return {
    id,
    type: "message",
    status,
    role: "assistant",
    content: status === "in_progress" ? [] : [{ type: "output_text", text, annotations: [], logprobs: [] }],
  };
}

export function functionCallItem(
  id: string,
  callId: string,
  name: string,
  args: string,
  context: ResponseContext,
  status = "completed",
): ResponseItem {
  const item: ResponseItem = { id, type: "function_call", status, call_id: callId, name, arguments: args };
  const namespace = context.namespaces?.get(name);
  if (namespace) item.namespace = namespace;
  return item;
}
