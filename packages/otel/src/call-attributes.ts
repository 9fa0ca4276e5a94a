/**
 * Turns llmux call events into span attributes: GenAI conventions, Langfuse keys and MLflow keys.
 * Usage and cost go on the call span only (Langfuse and MLflow add up usage over spans).
 */
import type { AttemptRecord, CallEvent, CallStartEvent } from "@llmux/callbacks";
import type { Attributes, AttributeValue } from "@opentelemetry/api";
import * as A from "./attributes";
import {
  jsonString,
  type TextMessagesJson,
  textMessagesJson,
  toInputMessages,
  toOutputMessages,
} from "./messages";

type Usage = NonNullable<CallEvent["usage"]>;
type CostBreakdown = NonNullable<CallEvent["cost"]>;

/** The SDK keeps 128 attributes per span by default; llmux's own use about 50. */
const MAX_METADATA_KEYS = 32;
const MAX_METADATA_VALUE_LENGTH = 4096;

/** llmux provider prefix → `gen_ai.provider.name` well-known value (others pass through). */
const PROVIDER_NAMES: Record<string, string> = {
  openai: "openai",
  azure: "azure.ai.openai",
  azure_ai: "azure.ai.inference",
  anthropic: "anthropic",
  bedrock: "aws.bedrock",
  vertex_ai: "gcp.vertex_ai",
  gemini: "gcp.gemini",
  groq: "groq",
  mistral: "mistral_ai",
  deepseek: "deepseek",
  xai: "x_ai",
  ollama: "ollama",
  ollama_chat: "ollama",
};

export function providerName(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider;
}

export function operationName(event: { callType: string }): string {
  return event.callType === "embeddings" ? A.GEN_AI_OPERATION_EMBEDDINGS : A.GEN_AI_OPERATION_CHAT;
}

/**
 * The call span's name: the caller's `generation_name` (LiteLLM renames the Langfuse generation
 * with it; Langfuse names an observation after its span), else `{operation} {model}` as the GenAI
 * conventions say.
 */
export function callSpanName(
  event: Pick<CallStartEvent, "callType" | "requestedModel" | "generationName">,
): string {
  return event.generationName || `${operationName(event)} ${event.requestedModel}`;
}

/** The API route a call came through, as it reads in a trace name. */
const ROUTE_NAMES: Record<string, string> = {
  chat: "chat.completions",
  completions: "completions",
  embeddings: "embeddings",
  messages: "messages",
  responses: "responses",
};

/**
 * Langfuse's trace name when the caller sent no `trace_name`: the route and the model group, e.g.
 * "chat.completions gpt-4o" (LiteLLM names its traces after the call type, "litellm-acompletion";
 * without a name Langfuse would show the root span's, "POST").
 */
export function defaultTraceName(event: Pick<CallStartEvent, "callType" | "modelGroup">): string {
  return `${ROUTE_NAMES[event.callType] ?? event.callType} ${event.modelGroup}`;
}

const serverCache = new Map<string, { address: string; port: number } | null>();

/** server.address / server.port of an api base, parsed once per distinct base. */
export function serverOf(apiBase: string | undefined): { address: string; port: number } | null {
  if (!apiBase) return null;
  const cached = serverCache.get(apiBase);
  if (cached !== undefined) return cached;
  let result: { address: string; port: number } | null = null;
  try {
    const url = new URL(apiBase);
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    result = { address: url.hostname, port };
  } catch {
    result = null;
  }
  if (serverCache.size > 256) serverCache.clear();
  serverCache.set(apiBase, result);
  return result;
}

function isPrimitive(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function metadataValue(value: unknown): AttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (isPrimitive(value)) return typeof value === "string" ? clip(value) : value;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  try {
    return clip(JSON.stringify(value));
  } catch {
    return undefined;
  }
}

/**
 * Attribute names made so far, by metadata key: at most this many, of keys at most this long (keys are
 * the callers': a client's body metadata must not pin memory for the life of the process).
 */
const MAX_CACHED_METADATA_NAMES = 1024;
const MAX_CACHED_METADATA_KEY_LENGTH = 64;
const TRACE_METADATA_TEAM = `${A.LANGFUSE_TRACE_METADATA_PREFIX}team`;
const OBSERVATION_METADATA_GENERATION_NAME = `${A.LANGFUSE_OBSERVATION_METADATA_PREFIX}generation_name`;
const traceMetadataNames = new Map<string, string>();

/**
 * `langfuse.trace.metadata.<key>`, made once per key: a call with a virtual key carries about eight
 * `user_api_key_*` keys, and a name built per span is a new string that the span's attribute map must
 * hash again on every call. Past the cap (metadata keys chosen per call) names are built each time.
 */
function traceMetadataName(key: string): string {
  let name = traceMetadataNames.get(key);
  if (name === undefined) {
    name = `${A.LANGFUSE_TRACE_METADATA_PREFIX}${key}`;
    if (key.length <= MAX_CACHED_METADATA_KEY_LENGTH && traceMetadataNames.size < MAX_CACHED_METADATA_NAMES)
      traceMetadataNames.set(key, name);
  }
  return name;
}

function clip(text: string): string {
  return text.length > MAX_METADATA_VALUE_LENGTH ? `${text.slice(0, MAX_METADATA_VALUE_LENGTH)}…` : text;
}

function numberParam(params: Record<string, unknown>, key: string, fallbackKey?: string): number | undefined {
  const value = params[key];
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (fallbackKey === undefined) return undefined;
  const fallback = params[fallbackKey];
  return typeof fallback === "number" && Number.isFinite(fallback) ? fallback : undefined;
}

/** Which vendor-specific attribute families a span carries (GenAI and llmux keys always go). */
export interface VendorKeys {
  /** `langfuse.*` keys (observation type, usage/cost details, trace tags/metadata, environment, ...). */
  langfuse: boolean;
  /** `mlflow.*` keys (span type, token usage, cost, span inputs/outputs). */
  mlflow: boolean;
}

/**
 * Where attributes go: the span itself. Each value goes straight to `setAttribute`, which is
 * cheaper than collecting an object first (measured: building a ~40-key object and handing it to
 * `setAttributes`, or to `startSpan`, which copies it twice more, costs more than the calls).
 */
export interface AttributeTarget {
  setAttribute(key: string, value: AttributeValue): unknown;
}

/** Request parameters (`gen_ai.request.*`). */
function requestAttributes(params: Record<string, unknown>, out: AttributeTarget): void {
  let value = numberParam(params, "temperature");
  if (value !== undefined) out.setAttribute(A.GEN_AI_REQUEST_TEMPERATURE, value);
  value = numberParam(params, "top_p");
  if (value !== undefined) out.setAttribute(A.GEN_AI_REQUEST_TOP_P, value);
  value = numberParam(params, "top_k");
  if (value !== undefined) out.setAttribute(A.GEN_AI_REQUEST_TOP_K, value);
  value = numberParam(params, "max_completion_tokens", "max_tokens");
  if (value !== undefined) out.setAttribute(A.GEN_AI_REQUEST_MAX_TOKENS, value);
  value = numberParam(params, "frequency_penalty");
  if (value !== undefined) out.setAttribute(A.GEN_AI_REQUEST_FREQUENCY_PENALTY, value);
  value = numberParam(params, "presence_penalty");
  if (value !== undefined) out.setAttribute(A.GEN_AI_REQUEST_PRESENCE_PENALTY, value);
  value = numberParam(params, "seed");
  if (value !== undefined) out.setAttribute(A.GEN_AI_REQUEST_SEED, value);
  value = numberParam(params, "n");
  if (value !== undefined && value !== 1) out.setAttribute(A.GEN_AI_REQUEST_CHOICE_COUNT, value);
  const stop = params.stop ?? params.stop_sequences;
  if (typeof stop === "string") out.setAttribute(A.GEN_AI_REQUEST_STOP_SEQUENCES, [stop]);
  else if (Array.isArray(stop) && stop.every((item) => typeof item === "string")) {
    out.setAttribute(A.GEN_AI_REQUEST_STOP_SEQUENCES, stop as string[]);
  }
  if (typeof params.encoding_format === "string")
    out.setAttribute(A.GEN_AI_REQUEST_ENCODING_FORMATS, [params.encoding_format]);
  const format = params.response_format;
  if (format && typeof format === "object" && "type" in format) {
    const type = (format as { type?: unknown }).type;
    if (type === "json_object" || type === "json_schema") out.setAttribute(A.GEN_AI_OUTPUT_TYPE, "json");
    else if (type === "text") out.setAttribute(A.GEN_AI_OUTPUT_TYPE, "text");
  }
}

export interface TraceLabels {
  environment?: string;
  release?: string;
}

/**
 * Attributes known when the call starts, beyond the operation name and model that startSpan was
 * given (so samplers see them).
 */
export function writeStartAttributes(
  event: CallStartEvent,
  labels: TraceLabels,
  vendors: VendorKeys,
  out: AttributeTarget,
): void {
  const embeddings = event.callType === "embeddings";
  out.setAttribute(A.GEN_AI_REQUEST_STREAM, event.stream);
  out.setAttribute(A.LLMUX_CALL_ID, event.callId);
  out.setAttribute(A.LLMUX_MODEL_GROUP, event.modelGroup);
  out.setAttribute(A.LLMUX_CALL_TYPE, event.callType);
  const langfuse = vendors.langfuse;
  if (langfuse) {
    out.setAttribute(
      A.LANGFUSE_OBSERVATION_TYPE,
      embeddings ? A.LANGFUSE_TYPE_EMBEDDING : A.LANGFUSE_TYPE_GENERATION,
    );
  }
  if (vendors.mlflow) {
    out.setAttribute(A.MLFLOW_SPAN_TYPE, embeddings ? A.MLFLOW_TYPE_EMBEDDING : A.MLFLOW_TYPE_CHAT_MODEL);
  }
  if (event.requestParams) requestAttributes(event.requestParams, out);
  if (event.user) out.setAttribute(A.USER_ID, event.user);
  if (event.session) {
    out.setAttribute(A.SESSION_ID, event.session);
    out.setAttribute(A.GEN_AI_CONVERSATION_ID, event.session);
  }
  if (event.team) out.setAttribute(A.LLMUX_TEAM, event.team);
  if (event.generationName) out.setAttribute(A.LLMUX_GENERATION_NAME, event.generationName);
  if (event.traceName) out.setAttribute(A.LLMUX_TRACE_NAME, event.traceName);
  if (event.tags && event.tags.length > 0) out.setAttribute(A.LLMUX_TAGS, event.tags.slice());
  if (!langfuse) return;
  if (event.team) out.setAttribute(TRACE_METADATA_TEAM, event.team);
  if (event.tags && event.tags.length > 0) out.setAttribute(A.LANGFUSE_TRACE_TAGS, event.tags.slice());
  out.setAttribute(A.LANGFUSE_TRACE_NAME, event.traceName || defaultTraceName(event));
  if (event.generationName) {
    out.setAttribute(OBSERVATION_METADATA_GENERATION_NAME, event.generationName);
  }
  if (labels.environment) out.setAttribute(A.LANGFUSE_ENVIRONMENT, labels.environment);
  if (labels.release) out.setAttribute(A.LANGFUSE_RELEASE, labels.release);
  const metadata = event.metadata;
  if (metadata) {
    let count = 0;
    for (const key in metadata) {
      if (count++ >= MAX_METADATA_KEYS) break;
      const value = metadataValue(metadata[key]);
      if (value !== undefined) out.setAttribute(traceMetadataName(key), value);
    }
  }
}

/** A number as JSON.stringify writes it (non-finite numbers are null). */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? `${value}` : "null";
}

/**
 * Langfuse `usage_details` as JSON: additive usage types (input excludes cache, output excludes
 * reasoning). Written as text: the same JSON as stringifying the object, without building it.
 */
export function langfuseUsageDetailsJson(usage: Usage): string {
  let json = `{"${A.LANGFUSE_USAGE_INPUT}":${jsonNumber(
    Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens),
  )},"${A.LANGFUSE_USAGE_OUTPUT}":${jsonNumber(Math.max(0, usage.outputTokens - usage.reasoningTokens))}`;
  if (usage.cachedInputTokens > 0)
    json += `,"${A.LANGFUSE_USAGE_CACHE_READ}":${jsonNumber(usage.cachedInputTokens)}`;
  if (usage.cacheCreationInputTokens > 0)
    json += `,"${A.LANGFUSE_USAGE_CACHE_CREATION}":${jsonNumber(usage.cacheCreationInputTokens)}`;
  if (usage.reasoningTokens > 0)
    json += `,"${A.LANGFUSE_USAGE_REASONING}":${jsonNumber(usage.reasoningTokens)}`;
  return `${json},"${A.LANGFUSE_USAGE_TOTAL}":${jsonNumber(usage.totalTokens)}}`;
}

/** Langfuse `cost_details` as JSON, in USD, under the same keys as the usage. */
export function langfuseCostDetailsJson(cost: CostBreakdown): string {
  let json = `{"${A.LANGFUSE_USAGE_INPUT}":${jsonNumber(cost.input)},"${A.LANGFUSE_USAGE_OUTPUT}":${jsonNumber(cost.output)}`;
  if (cost.cacheRead > 0) json += `,"${A.LANGFUSE_USAGE_CACHE_READ}":${jsonNumber(cost.cacheRead)}`;
  if (cost.cacheCreation > 0)
    json += `,"${A.LANGFUSE_USAGE_CACHE_CREATION}":${jsonNumber(cost.cacheCreation)}`;
  return `${json},"${A.LANGFUSE_USAGE_TOTAL}":${jsonNumber(cost.total)}}`;
}

/** MLflow `mlflow.chat.tokenUsage` as JSON (input includes cached tokens, as in OpenAI's usage). */
export function mlflowTokenUsageJson(usage: Usage): string {
  let json = `{"input_tokens":${jsonNumber(usage.inputTokens)},"output_tokens":${jsonNumber(
    usage.outputTokens,
  )},"total_tokens":${jsonNumber(usage.totalTokens)}`;
  if (usage.cachedInputTokens > 0)
    json += `,"cache_read_input_tokens":${jsonNumber(usage.cachedInputTokens)}`;
  if (usage.cacheCreationInputTokens > 0)
    json += `,"cache_creation_input_tokens":${jsonNumber(usage.cacheCreationInputTokens)}`;
  return `${json}}`;
}

/** MLflow `mlflow.llm.cost` as JSON: input cost includes cache reads and writes. */
export function mlflowCostJson(cost: CostBreakdown): string {
  return `{"input_cost":${jsonNumber(cost.input + cost.cacheRead + cost.cacheCreation)},"output_cost":${jsonNumber(
    cost.output,
  )},"total_cost":${jsonNumber(cost.total)}}`;
}

function lastAttempt(event: CallEvent): AttemptRecord | undefined {
  return event.attempts.length > 0 ? event.attempts[event.attempts.length - 1] : undefined;
}

/** Attributes known at the end of the call: outcome, usage, cost, timings. */
export function writeEndAttributes(event: CallEvent, vendors: VendorKeys, out: AttributeTarget): void {
  out.setAttribute(A.LLMUX_ATTEMPTS, event.attempts.length);
  out.setAttribute(A.LLMUX_FALLBACKS, event.fallbacks);
  out.setAttribute(A.LLMUX_OVERHEAD_MS, event.timings.overheadMs);
  const langfuse = vendors.langfuse;
  const mlflow = vendors.mlflow;
  const attempt = lastAttempt(event);
  const provider = event.provider ?? attempt?.provider;
  if (provider) out.setAttribute(A.GEN_AI_PROVIDER_NAME, providerName(provider));
  const deploymentId = event.deploymentId ?? attempt?.deploymentId;
  if (deploymentId) out.setAttribute(A.LLMUX_DEPLOYMENT_ID, deploymentId);
  const server = serverOf(event.apiBase ?? attempt?.apiBase);
  if (server) {
    out.setAttribute(A.SERVER_ADDRESS, server.address);
    out.setAttribute(A.SERVER_PORT, server.port);
  }
  if (event.responseId) out.setAttribute(A.GEN_AI_RESPONSE_ID, event.responseId);
  if (event.responseModel) out.setAttribute(A.GEN_AI_RESPONSE_MODEL, event.responseModel);
  if (langfuse) {
    out.setAttribute(
      A.LANGFUSE_OBSERVATION_MODEL_NAME,
      event.responseModel ?? attempt?.model ?? event.requestedModel,
    );
  }
  if (event.finishReasons && event.finishReasons.length > 0) {
    out.setAttribute(A.GEN_AI_RESPONSE_FINISH_REASONS, event.finishReasons.slice());
  }
  const usage = event.usage;
  if (usage) {
    out.setAttribute(A.GEN_AI_USAGE_INPUT_TOKENS, usage.inputTokens);
    out.setAttribute(A.GEN_AI_USAGE_OUTPUT_TOKENS, usage.outputTokens);
    if (usage.cachedInputTokens > 0)
      out.setAttribute(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cachedInputTokens);
    if (usage.cacheCreationInputTokens > 0) {
      out.setAttribute(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cacheCreationInputTokens);
    }
    if (usage.reasoningTokens > 0)
      out.setAttribute(A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoningTokens);
    // Langfuse's and MLflow's usage JSON differ (additive vs inclusive counts): two encodings.
    if (langfuse) out.setAttribute(A.LANGFUSE_OBSERVATION_USAGE_DETAILS, langfuseUsageDetailsJson(usage));
    if (mlflow) out.setAttribute(A.MLFLOW_CHAT_TOKEN_USAGE, mlflowTokenUsageJson(usage));
  }
  const cost = event.cost;
  if (cost) {
    if (langfuse) out.setAttribute(A.LANGFUSE_OBSERVATION_COST_DETAILS, langfuseCostDetailsJson(cost));
    if (mlflow) out.setAttribute(A.MLFLOW_LLM_COST, mlflowCostJson(cost));
    out.setAttribute(A.LLMUX_COST_USD, cost.total);
  } else if (event.costReason) {
    out.setAttribute(A.LLMUX_COST_REASON, event.costReason);
  }
  if (event.cacheHit !== undefined) out.setAttribute(A.LLMUX_CACHE_HIT, event.cacheHit);
  if (event.cacheSavedCost !== undefined)
    out.setAttribute(A.LLMUX_CACHE_SAVED_COST_USD, event.cacheSavedCost);
  const firstToken = event.timings.firstTokenTime;
  if (langfuse && firstToken !== undefined && Number.isFinite(firstToken)) {
    out.setAttribute(A.LANGFUSE_OBSERVATION_COMPLETION_START_TIME, new Date(firstToken).toISOString());
  }
  if (event.stream && event.timings.ttftMs !== undefined) {
    out.setAttribute(A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, event.timings.ttftMs / 1000);
  }
  if (event.status === "failure" && event.error) {
    out.setAttribute(A.ERROR_TYPE, event.error.type);
    out.setAttribute(A.LLMUX_STATUS_CODE, event.error.status);
  }
}

/** `JSON.stringify(value)`, or undefined for undefined and unencodable values (a cycle, a BigInt). */
function jsonOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** `json` as attribute `key` when there is one. */
function putText(out: AttributeTarget, key: string, json: string | undefined): void {
  if (json !== undefined) out.setAttribute(key, json);
}

/**
 * `JSON.stringify({ ...head, [key]: value })` given `valueJson` = JSON.stringify(value), without
 * encoding the value again: the head's JSON with the member appended (where the object literal
 * puts it, as `key` is not one of the head's own keys: the caller checks).
 */
function appendMember(head: object, key: string, valueJson: string): string | undefined {
  const json = jsonOf(head);
  if (json === undefined) return undefined;
  return json.length === 2 ? `{"${key}":${valueJson}}` : `${json.slice(0, -1)},"${key}":${valueJson}}`;
}

/**
 * The members of `{ model, ...params }` after the model, as JSON.stringify writes them
 * (`,"key":value` each), without the object's copy. Undefined when only JSON.stringify of the copy
 * can tell: an object that is not a plain one, a key the literal would move (an array index, the
 * model) or that would make the copy serialize itself (toJSON). Null when a value cannot be
 * encoded (a cycle, a BigInt), which leaves the whole document out.
 */
function paramMembersJson(params: Record<string, unknown> | undefined): string | undefined | null {
  if (params === undefined || params === null) return "";
  if (Object.getPrototypeOf(params) !== Object.prototype) return undefined;
  let json = "";
  for (const key in params) {
    if (!Object.hasOwn(params, key)) continue;
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === "model" || key === "toJSON") return undefined;
    const value = params[key];
    let valueJson: string | undefined;
    if (typeof value === "number") valueJson = jsonNumber(value);
    else if (typeof value === "string") valueJson = jsonString(value);
    else if (typeof value === "boolean") valueJson = value ? "true" : "false";
    // a toJSON is called with its member's key in the object's JSON: the object's own JSON then
    else if (typeof (value as { toJSON?: unknown } | null | undefined)?.toJSON === "function")
      return undefined;
    else {
      try {
        valueJson = JSON.stringify(value);
      } catch {
        return null;
      }
    }
    // undefined, a function, a symbol: no member, as in the object's JSON
    if (valueJson !== undefined) json += `,${jsonString(key)}:${valueJson}`;
  }
  return json;
}

/** MLflow's inputs of a chat call: `{ model, ...requestParams, messages }` as JSON. */
function mlflowChatInputs(event: CallEvent, messagesJson: string): string | undefined {
  const params = event.requestParams;
  if (params && Object.hasOwn(params, "messages"))
    return jsonOf({ model: event.requestedModel, ...params, messages: event.messages });
  const model = event.requestedModel;
  if (typeof model === "string") {
    const members = paramMembersJson(params);
    if (members === null) return undefined;
    if (members !== undefined) return `{"model":${jsonString(model)}${members},"messages":${messagesJson}}`;
  }
  return appendMember({ model, ...params }, "messages", messagesJson);
}

/** JSON of a value that is usually a string (an id, a model, a finish reason). */
function usuallyStringJson(value: unknown): string | undefined {
  return typeof value === "string" ? jsonString(value) : jsonOf(value);
}

/**
 * MLflow's outputs of a chat call whose response is one assistant message: the OpenAI response
 * shape `{ id, model, choices: [{ index: 0, message, finish_reason }] }` as JSON.
 */
function mlflowChatOutputs(event: CallEvent, responseJson: string): string | undefined {
  const id = event.responseId;
  const model = event.responseModel;
  let head: string | undefined;
  // an id or a model that is undefined is left out, as in the object's JSON
  if (typeof id === "string" && typeof model === "string")
    head = `{"id":${jsonString(id)},"model":${jsonString(model)},`;
  else if (id === undefined && model === undefined) head = "{";
  else {
    const json = jsonOf({ id, model });
    if (json === undefined) return undefined;
    head = json.length === 2 ? "{" : `${json.slice(0, -1)},`;
  }
  const reason = usuallyStringJson(event.finishReasons?.[0] ?? null);
  return `${head}"choices":[{"index":0,"message":${responseJson}${reason === undefined ? "" : `,"finish_reason":${reason}`}}]}`;
}

/** Output messages of a call that reported no finish reason (none is written). */
const NO_REASONS: readonly string[] = [];

function isMessageRecord(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value) && "role" in value;
}

/**
 * `gen_ai.output.messages` of a plain-text answer (a list of messages or one) and the answer's own
 * JSON when textMessagesJson could write it too; else undefined.
 */
function textOutputJson(response: unknown, finishReasons: readonly string[]): TextMessagesJson | undefined {
  if (Array.isArray(response)) return textMessagesJson(response, finishReasons);
  if (isMessageRecord(response) && !Array.isArray((response as { choices?: unknown }).choices)) {
    const documents = textMessagesJson([response], finishReasons);
    // the list's JSON is `[` + the message's + `]`
    if (documents?.raw !== undefined) documents.raw = documents.raw.slice(1, -1);
    return documents;
  }
  return undefined;
}

/**
 * Prompt and response content (opt-in; the caller checks captureContent and redaction), added to
 * `out`. The prompt and the response are each encoded to JSON once: Langfuse's trace input and
 * output are those texts, and MLflow's inputs and outputs wrap them. A plain-text prompt or answer
 * has its roles and contents encoded once for both its own JSON and its GenAI messages (another
 * document, the converted parts).
 */
export function writeContentAttributes(event: CallEvent, vendors: VendorKeys, out: AttributeTarget): void {
  if (event.callType === "embeddings") {
    writeEmbeddingsContent(event, vendors, out);
    return;
  }
  const messages = event.messages;
  const response = event.response;
  const finishReasons = event.finishReasons;
  const input = Array.isArray(messages) ? textMessagesJson(messages) : undefined;
  const output = textOutputJson(response, finishReasons ?? NO_REASONS);
  const messagesJson = input?.raw ?? jsonOf(messages);
  const responseJson = output?.raw ?? jsonOf(response);
  if (vendors.langfuse) {
    // the trace's input and output are the call's (Langfuse takes the latest span's that has them)
    putText(out, A.LANGFUSE_TRACE_INPUT, messagesJson);
    putText(out, A.LANGFUSE_TRACE_OUTPUT, responseJson);
  }
  putText(out, A.GEN_AI_INPUT_MESSAGES, input?.converted ?? jsonOf(toInputMessages(messages)));
  putText(
    out,
    A.GEN_AI_OUTPUT_MESSAGES,
    output?.converted ?? jsonOf(toOutputMessages(response, finishReasons)),
  );
  if (!vendors.mlflow) return;
  if (messagesJson !== undefined) {
    putText(
      out,
      A.MLFLOW_SPAN_INPUTS,
      Array.isArray(messages) ? mlflowChatInputs(event, messagesJson) : messagesJson,
    );
  }
  if (responseJson !== undefined) {
    putText(
      out,
      A.MLFLOW_SPAN_OUTPUTS,
      isMessageRecord(response) ? mlflowChatOutputs(event, responseJson) : responseJson,
    );
  }
}

/** The content of an embeddings call: the GenAI conventions have no attribute for its input. */
function writeEmbeddingsContent(event: CallEvent, vendors: VendorKeys, out: AttributeTarget): void {
  const messagesJson = jsonOf(event.messages);
  const responseJson = jsonOf(event.response);
  if (vendors.langfuse) {
    putText(out, A.LANGFUSE_TRACE_INPUT, messagesJson);
    putText(out, A.LANGFUSE_TRACE_OUTPUT, responseJson);
    // Langfuse's own observation keys instead
    putText(out, A.LANGFUSE_OBSERVATION_INPUT, messagesJson);
    putText(out, A.LANGFUSE_OBSERVATION_OUTPUT, responseJson);
  }
  if (!vendors.mlflow) return;
  if (messagesJson !== undefined) {
    putText(out, A.MLFLOW_SPAN_INPUTS, appendMember({ model: event.requestedModel }, "input", messagesJson));
  }
  putText(out, A.MLFLOW_SPAN_OUTPUTS, responseJson);
}

/** Attributes of one attempt span (no usage: the call span carries it). */
export function attemptStartAttributes(
  attempt: {
    index: number;
    deploymentId: string;
    provider: string;
    model: string;
    apiBase?: string;
    fallback: boolean;
  },
  vendors: VendorKeys,
  labels: TraceLabels = {},
): Attributes {
  const attributes: Attributes = {
    [A.GEN_AI_PROVIDER_NAME]: providerName(attempt.provider),
    [A.GEN_AI_REQUEST_MODEL]: attempt.model,
    [A.LLMUX_DEPLOYMENT_ID]: attempt.deploymentId,
    [A.LLMUX_ATTEMPT_INDEX]: attempt.index,
    [A.LLMUX_ATTEMPT_FALLBACK]: attempt.fallback,
  };
  if (vendors.langfuse) {
    attributes[A.LANGFUSE_OBSERVATION_TYPE] = A.LANGFUSE_TYPE_SPAN;
    if (labels.environment) attributes[A.LANGFUSE_ENVIRONMENT] = labels.environment;
    if (labels.release) attributes[A.LANGFUSE_RELEASE] = labels.release;
  }
  if (vendors.mlflow) attributes[A.MLFLOW_SPAN_TYPE] = A.MLFLOW_TYPE_UNKNOWN;
  const server = serverOf(attempt.apiBase);
  if (server) {
    attributes[A.SERVER_ADDRESS] = server.address;
    attributes[A.SERVER_PORT] = server.port;
  }
  return attributes;
}

export function attemptEndAttributes(record: AttemptRecord): Attributes {
  const attributes: Attributes = { [A.LLMUX_ATTEMPT_OUTCOME]: record.outcome };
  if (record.error) {
    attributes[A.ERROR_TYPE] = record.error.type;
    if (record.error.upstreamStatus !== undefined) {
      attributes[A.LLMUX_ATTEMPT_UPSTREAM_STATUS] = record.error.upstreamStatus;
    }
  } else if (record.outcome === "aborted") {
    attributes[A.ERROR_TYPE] = "aborted";
  }
  // The gateway may only know the upstream address once the attempt has run.
  const server = serverOf(record.apiBase);
  if (server) {
    attributes[A.SERVER_ADDRESS] = server.address;
    attributes[A.SERVER_PORT] = server.port;
  }
  return attributes;
}
