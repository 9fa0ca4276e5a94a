import type { Usage } from "@llmux/pricing";
import type { Deployment } from "../config/types";
import type { ProviderCall } from "../providers/types";

/**
 * OpenAI Responses API shapes (https://platform.openai.com/docs/api-reference/responses), kept loose:
 * unknown fields pass through so new API features reach an OpenAI upstream untouched.
 */

/** One input or output item: a message, function_call, function_call_output, reasoning, ... */
export type ResponseItem = Record<string, unknown> & { type?: string };

/** A Responses request body (POST /v1/responses). */
export type ResponsesRequest = Record<string, unknown> & {
  model: string;
  input?: string | ResponseItem[];
  instructions?: string | null;
  previous_response_id?: string | null;
  store?: boolean | null;
  stream?: boolean | null;
  tools?: Array<Record<string, unknown>>;
};

/** A Response object (the non-streaming answer, and `response` in response.* events). */
export type ResponseObject = Record<string, unknown> & {
  id: string;
  object: "response";
  created_at: number;
  status: string;
  model: string;
  output: ResponseItem[];
  usage?: Record<string, unknown> | null;
};

/** One typed stream event (response.created, response.output_text.delta, ...). */
export type ResponseStreamEvent = Record<string, unknown> & { type: string };

/** One event of a Responses stream; `raw` is the upstream's data text when it can be forwarded unchanged. */
export interface ResponsesStreamItem {
  event: ResponseStreamEvent;
  raw?: string;
  /** Set on the event that completes the call's usage (response.completed / incomplete). */
  usage?: Usage;
  /** The usage was counted by the gateway (the upstream reported none). */
  usageEstimated?: boolean;
}

export interface ResponsesResult {
  response: ResponseObject;
  usage: Usage | null;
  /** The upstream's JSON text of `response`, when it is sent unchanged. */
  raw?: string;
}

/**
 * A provider that takes Responses bodies as they are (OpenAI). The /v1/responses route passes such
 * deployments the client's body with only `model` replaced; every other deployment gets the body
 * translated to OpenAI chat and the answer translated back.
 */
export interface NativeResponsesProvider {
  acceptsResponses(deployment: Deployment): boolean;
  responses(body: ResponsesRequest, call: ProviderCall): Promise<ResponsesResult>;
  responsesStream(body: ResponsesRequest, call: ProviderCall): Promise<AsyncIterator<ResponsesStreamItem>>;
}

export function isNativeResponsesProvider(provider: unknown): provider is NativeResponsesProvider {
  const candidate = provider as Partial<NativeResponsesProvider> | undefined;
  return (
    typeof candidate?.acceptsResponses === "function" &&
    typeof candidate.responses === "function" &&
    typeof candidate.responsesStream === "function"
  );
}
