/**
 * Every span attribute name @llmux/otel writes, in one place. The GenAI conventions are still
 * "Development" stability, so the names are pinned here rather than imported.
 *
 * Sources (looked up, not guessed):
 * - OpenTelemetry GenAI semantic conventions, as shipped in @opentelemetry/semantic-conventions
 *   1.45 `incubating` (ATTR_GEN_AI_*), https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 *   Span name: "{gen_ai.operation.name} {gen_ai.request.model}", kind CLIENT.
 *   `gen_ai.usage.cache_read.input_tokens` / `cache_creation.input_tokens` "SHOULD be included in
 *   gen_ai.usage.input_tokens"; `gen_ai.usage.reasoning.output_tokens` is part of output_tokens.
 * - Stable: server.address, server.port, error.type (semantic-conventions stable_attributes).
 * - Langfuse OTel ingestion (langfuse/langfuse packages/shared/src/server/otel/attributes.ts and
 *   OtelIngestionProcessor.ts): `langfuse.observation.usage_details` / `cost_details` are parsed
 *   as JSON objects and win over gen_ai.usage.*; `langfuse.observation.completion_start_time` is an
 *   ISO date string; `langfuse.trace.tags` may be a string array; `langfuse.trace.metadata.<key>`
 *   becomes one metadata key; `user.id`, `session.id` (or `gen_ai.conversation.id`) set the trace's
 *   user and session; `langfuse.environment` and `langfuse.release` are plain strings.
 *   Usage keys follow https://langfuse.com/docs/model-usage-and-cost: additive usage types
 *   ("input", "output", "cache_read_input_tokens", ...), every key containing "input" counts as
 *   input and every key containing "output" as output, "total" is the sum.
 * - MLflow (mlflow/tracing/constant.py, SpanAttributeKey / TokenUsageKey / CostKey):
 *   `mlflow.spanType` (span type name, e.g. "CHAT_MODEL", "LLM", "EMBEDDING"),
 *   `mlflow.spanInputs` / `mlflow.spanOutputs` (JSON), `mlflow.chat.tokenUsage` JSON
 *   {"input_tokens","output_tokens","total_tokens","cache_read_input_tokens"?,"cache_creation_input_tokens"?},
 *   `mlflow.llm.cost` JSON {"input_cost","output_cost","total_cost"} in USD.
 */

// --- OpenTelemetry GenAI semantic conventions -------------------------------------------------
export const GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
export const GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
export const GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id";
export const GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
export const GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature";
export const GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p";
export const GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k";
export const GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens";
export const GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty";
export const GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty";
export const GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences";
export const GEN_AI_REQUEST_SEED = "gen_ai.request.seed";
export const GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count";
export const GEN_AI_REQUEST_STREAM = "gen_ai.request.stream";
export const GEN_AI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats";
export const GEN_AI_OUTPUT_TYPE = "gen_ai.output.type";
export const GEN_AI_RESPONSE_ID = "gen_ai.response.id";
export const GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
export const GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons";
/** Seconds from request to first chunk (streams). */
export const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk";
export const GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";
export const GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
export const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens";
export const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens";
export const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens";
/** Opt-in content: JSON array of {role, parts:[{type:"text", content}|...]} messages. */
export const GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages";
/** Opt-in content: JSON array of {role, parts, finish_reason} messages. */
export const GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages";
export const GEN_AI_EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count";

export const GEN_AI_OPERATION_CHAT = "chat";
export const GEN_AI_OPERATION_EMBEDDINGS = "embeddings";

// --- Stable general conventions -----------------------------------------------------------------
export const SERVER_ADDRESS = "server.address";
export const SERVER_PORT = "server.port";
export const ERROR_TYPE = "error.type";
export const USER_ID = "user.id";
export const SESSION_ID = "session.id";

// --- Langfuse ------------------------------------------------------------------------------------
export const LANGFUSE_OBSERVATION_TYPE = "langfuse.observation.type";
export const LANGFUSE_OBSERVATION_USAGE_DETAILS = "langfuse.observation.usage_details";
export const LANGFUSE_OBSERVATION_COST_DETAILS = "langfuse.observation.cost_details";
export const LANGFUSE_OBSERVATION_COMPLETION_START_TIME = "langfuse.observation.completion_start_time";
export const LANGFUSE_OBSERVATION_MODEL_NAME = "langfuse.observation.model.name";
/** Prefix: `langfuse.observation.metadata.<key>`. */
export const LANGFUSE_OBSERVATION_METADATA_PREFIX = "langfuse.observation.metadata.";
export const LANGFUSE_TRACE_TAGS = "langfuse.trace.tags";
export const LANGFUSE_TRACE_NAME = "langfuse.trace.name";
/** Trace-level input and output (JSON); Langfuse reads them from any span of the trace. */
export const LANGFUSE_TRACE_INPUT = "langfuse.trace.input";
export const LANGFUSE_TRACE_OUTPUT = "langfuse.trace.output";
/** Observation input and output (JSON); win over every other input/output attribute in Langfuse. */
export const LANGFUSE_OBSERVATION_INPUT = "langfuse.observation.input";
export const LANGFUSE_OBSERVATION_OUTPUT = "langfuse.observation.output";
/** Prefix: `langfuse.trace.metadata.<key>`. */
export const LANGFUSE_TRACE_METADATA_PREFIX = "langfuse.trace.metadata.";
/**
 * Read from the span, else from the resource, for the trace and for each observation. A trace's
 * environment is fixed by its earliest span (Langfuse keeps a trace's first environment), so llmux
 * puts both on every span of its provider (the host's HTTP span included) and on the attempts.
 */
export const LANGFUSE_ENVIRONMENT = "langfuse.environment";
export const LANGFUSE_RELEASE = "langfuse.release";

export const LANGFUSE_TYPE_GENERATION = "generation";
export const LANGFUSE_TYPE_EMBEDDING = "embedding";
export const LANGFUSE_TYPE_SPAN = "span";

/** Keys inside `langfuse.observation.usage_details` and `cost_details` (additive usage types). */
export const LANGFUSE_USAGE_INPUT = "input";
export const LANGFUSE_USAGE_OUTPUT = "output";
export const LANGFUSE_USAGE_CACHE_READ = "cache_read_input_tokens";
export const LANGFUSE_USAGE_CACHE_CREATION = "cache_creation_input_tokens";
/** Langfuse's own name for reasoning tokens (OtelIngestionProcessor normalises to it). */
export const LANGFUSE_USAGE_REASONING = "output_reasoning_tokens";
export const LANGFUSE_USAGE_TOTAL = "total";

// --- MLflow --------------------------------------------------------------------------------------
/** Plain string span type. */
export const MLFLOW_SPAN_TYPE = "mlflow.spanType";
export const MLFLOW_SPAN_INPUTS = "mlflow.spanInputs";
export const MLFLOW_SPAN_OUTPUTS = "mlflow.spanOutputs";
export const MLFLOW_CHAT_TOKEN_USAGE = "mlflow.chat.tokenUsage";
export const MLFLOW_LLM_COST = "mlflow.llm.cost";

export const MLFLOW_TYPE_CHAT_MODEL = "CHAT_MODEL";
export const MLFLOW_TYPE_LLM = "LLM";
export const MLFLOW_TYPE_EMBEDDING = "EMBEDDING";
export const MLFLOW_TYPE_UNKNOWN = "UNKNOWN";

// --- llmux's own (namespaced, not part of any convention) ---------------------------------------
export const LLMUX_CALL_ID = "llmux.call_id";
export const LLMUX_MODEL_GROUP = "llmux.model_group";
export const LLMUX_CALL_TYPE = "llmux.call_type";
export const LLMUX_TEAM = "llmux.team";
export const LLMUX_GENERATION_NAME = "llmux.generation_name";
/** The request's `trace_name` (vendor-neutral: the MLflow bridge names the trace with it). */
export const LLMUX_TRACE_NAME = "llmux.trace_name";
/** The request's tags (x-llmux-tags, metadata.tags, resolveContext), string array. */
export const LLMUX_TAGS = "llmux.tags";
export const LLMUX_DEPLOYMENT_ID = "llmux.deployment_id";
export const LLMUX_ATTEMPTS = "llmux.attempts";
export const LLMUX_FALLBACKS = "llmux.fallbacks";
export const LLMUX_OVERHEAD_MS = "llmux.overhead_ms";
export const LLMUX_COST_USD = "llmux.cost_usd";
export const LLMUX_COST_REASON = "llmux.cost_reason";
/** Response cache on: whether the answer came from it (a hit costs 0), and what a hit saved (USD). */
export const LLMUX_CACHE_HIT = "llmux.cache_hit";
export const LLMUX_CACHE_SAVED_COST_USD = "llmux.cache_saved_cost_usd";
export const LLMUX_STATUS_CODE = "llmux.status_code";
export const LLMUX_ATTEMPT_INDEX = "llmux.attempt.index";
export const LLMUX_ATTEMPT_FALLBACK = "llmux.attempt.fallback";
export const LLMUX_ATTEMPT_OUTCOME = "llmux.attempt.outcome";
export const LLMUX_ATTEMPT_UPSTREAM_STATUS = "llmux.attempt.upstream_status";
