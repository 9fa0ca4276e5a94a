/**
 * Public types of @llmux/callbacks: the one event per call (SPEC §4), the lifecycle events,
 * the sink interface, request hooks and the plugin interface through which @llmux/otel,
 * @llmux/prometheus and @llmux/mlflow attach to the gateway.
 */
import type { CostBreakdown, Usage } from "@llmux/pricing";

/** "responses": POST /v1/responses (OpenAI Responses API); "completions": legacy POST /v1/completions. */
/**
 * "count_tokens" is POST /v1/messages/count_tokens: no model call and no charge (its event has no usage,
 * cost 0 and the count in `tokenCount`); request hooks (budgets, limits) do not run for it.
 */
export type CallType = "chat" | "embeddings" | "messages" | "responses" | "completions" | "count_tokens";

/** The error classes of the router, decided once in @llmux/core. */
export type ErrorKind =
  | "bad_request"
  | "authentication"
  | "permission_denied"
  | "not_found"
  | "request_too_large"
  | "context_window_exceeded"
  | "content_policy"
  | "rate_limit"
  | "timeout"
  | "connection"
  | "server_error"
  | "unavailable"
  | "aborted"
  | "internal";

export interface CallError {
  type: ErrorKind;
  /** HTTP status the client received. */
  status: number;
  message: string;
  /** Provider that produced the error, when it came from upstream. */
  provider?: string;
  /** Upstream HTTP status, when there was one. */
  upstreamStatus?: number;
}

/** One upstream attempt of a call. */
export interface AttemptRecord {
  index: number;
  modelGroup: string;
  deploymentId: string;
  provider: string;
  model: string;
  /** Upstream origin without credentials or query string. */
  apiBase?: string;
  startTime: number;
  endTime: number;
  latencyMs: number;
  outcome: "success" | "failure" | "aborted";
  /** true when this attempt served a fallback group. */
  fallback: boolean;
  error?: CallError;
}

export interface CallTimings {
  /** Epoch milliseconds when the gateway received the call. */
  startTime: number;
  /** Epoch milliseconds of the first streamed token (streams) or of the response (non-streams). */
  firstTokenTime?: number;
  endTime: number;
  durationMs: number;
  /** Time to first token, streams only. */
  ttftMs?: number;
  /** Time spent in upstream attempts. */
  upstreamMs: number;
  /** durationMs − upstreamMs: what the gateway itself added. */
  overheadMs: number;
}

/** Who and what a call belongs to (request fields, headers and the host's resolveContext hook). */
export interface CallContext {
  user?: string;
  team?: string;
  session?: string;
  tags: string[];
  traceName?: string;
  generationName?: string;
  /** The caller's `metadata` object minus the keys above. */
  metadata: Record<string, unknown>;
}

/** Emitted when a call starts, before routing. */
export interface CallStartEvent extends CallContext {
  callId: string;
  traceId?: string;
  spanId?: string;
  callType: CallType;
  stream: boolean;
  modelGroup: string;
  requestedModel: string;
  startTime: number;
  requestParams: Record<string, unknown>;
  /** Prompt messages (or embedding input); absent when redaction is on. */
  messages?: unknown;
  redacted: boolean;
}

/** The one event per call, emitted at its end (success or failure). */
export interface CallEvent extends CallStartEvent {
  status: "success" | "failure";
  deploymentId?: string;
  provider?: string;
  apiBase?: string;
  responseModel?: string;
  responseId?: string;
  finishReasons?: string[];
  /**
   * Optional (added): true when `usage` was counted by the gateway's tokenizer because the upstream
   * reported none (a stream without a usage chunk); the cost is then an estimate too.
   */
  usageEstimated?: boolean;
  /**
   * Optional (added): a count_tokens call's answer. `source` "provider" when the deployment's upstream
   * counted (Anthropic's count_tokens), "estimate" when the gateway's tokenizer did (every other provider).
   */
  tokenCount?: { inputTokens: number; source: "provider" | "estimate" };
  usage: Usage | null;
  cost: CostBreakdown | null;
  /** Why cost is null (unpriced model, no usage, failure before a response). */
  costReason?: string;
  timings: CallTimings;
  error?: CallError;
  attempts: AttemptRecord[];
  /** Number of fallback groups tried. */
  fallbacks: number;
  /** Response content (assistant message, tool calls, embeddings summary); absent when redacted. */
  response?: unknown;
  /** Set when the response cache is on: true when the answer came from it (no upstream call, cost 0). */
  cacheHit?: boolean;
  /** A cache hit: what the cached call had cost (USD), i.e. what the hit saved. */
  cacheSavedCost?: number;
}

export interface FallbackEvent {
  callId: string;
  time: number;
  fromGroup: string;
  toGroup: string;
  reason: ErrorKind;
}

export interface CooldownEvent {
  time: number;
  modelGroup: string;
  deploymentId: string;
  provider: string;
  reason: ErrorKind;
  /** Epoch milliseconds when the deployment returns to rotation. */
  until: number;
}

export interface AttemptEvent extends AttemptRecord {
  callId: string;
}

export interface StreamChunkEvent {
  callId: string;
  index: number;
  time: number;
  /** The OpenAI-format chunk; absent content when redacted. */
  chunk: unknown;
}

/**
 * A callback sink. Every method is optional, is called off the request path through the
 * sink's own bounded queue, and may be async; what it throws is counted and logged, never
 * seen by a client.
 */
export interface CallbackSink {
  readonly name: string;
  /** Receive `onStreamChunk` (off by default: it is one event per chunk). */
  readonly wantsStreamChunks?: boolean;
  /** Queue capacity for this sink (default 10 000 events). */
  readonly queueSize?: number;
  /** Which outcomes it gets: "all" (callbacks), "success" (success_callback) or "failure" (failure_callback). */
  readonly only?: "all" | "success" | "failure";
  onStart?(event: CallStartEvent): void | Promise<void>;
  onSuccess?(event: CallEvent): void | Promise<void>;
  onFailure?(event: CallEvent): void | Promise<void>;
  onStreamChunk?(event: StreamChunkEvent): void | Promise<void>;
  onAttempt?(event: AttemptEvent): void | Promise<void>;
  onFallback?(event: FallbackEvent): void | Promise<void>;
  onCooldown?(event: CooldownEvent): void | Promise<void>;
  /** Deliver what the sink buffers itself (batching sinks). */
  flush?(): Promise<void>;
  /** Deliver what is buffered and stop; by `options.deadline` at the latest when one is given. */
  shutdown?(options?: ShutdownOptions): Promise<void>;
}

/** How long a shutdown may take: what is not delivered by `deadline` is dropped, counted and logged. */
export interface ShutdownOptions {
  /** Epoch milliseconds (Date.now()) by which shutdown() resolves, delivered or not. */
  deadline?: number;
}

/** What a request hook sees and may change before routing. */
export interface BeforeCallContext {
  callId: string;
  callType: CallType;
  modelGroup: string;
  /** The request body; a hook may mutate it or return a replacement. */
  body: Record<string, unknown>;
  context: CallContext;
  /** The host's request object (framework-specific), for hooks that need it. */
  request: unknown;
  /**
   * The object a plugin's `authenticate` returned for the caller's key (the same object, not a copy):
   * a plugin's hooks find their own key by it without storing anything on the host's request. Absent
   * for the master key, the authorize hook, an open gateway and the in-process API.
   */
  access?: PluginAccess | undefined;
  /**
   * An object of this call's own, the same one in its beforeCall and afterCall hooks: a plugin keeps
   * what it must carry from one to the other (a budget hold, a limiter's slot) under a name of its own
   * (its plugin name), instead of in a map keyed by call id. Empty when the call starts.
   */
  state: Record<string, unknown>;
}

export interface AfterCallContext extends BeforeCallContext {
  /** The final event (status, usage, cost) of the call. */
  event: CallEvent;
}

/** Request hooks run on the request path (guardrails, budgets); keep them fast. */
export interface RequestHooks {
  /** Throw `rejectCall(status, message)` to refuse; return a body to replace it. */
  beforeCall?(
    context: BeforeCallContext,
  ): void | Record<string, unknown> | Promise<void | Record<string, unknown>>;
  /** Sees the finished call; cannot change the response already sent. */
  afterCall?(context: AfterCallContext): void | Promise<void>;
  /**
   * false: `afterCall` reads only the call's outcome (status, usage, cost, ids, timings), never the
   * prompt or the response (`event.messages` / `event.response`), so the gateway need not assemble
   * streamed content for it. Default: true.
   */
  readonly afterCallReadsContent?: boolean;
}

/**
 * Synchronous tracing hooks, for span-based telemetry that must capture the host's active
 * context at call start. Implemented by @llmux/otel. Must be cheap and must not throw.
 */
export interface CallTracer {
  startCall(event: CallStartEvent, carrier: { traceparent?: string; tracestate?: string }): CallTrace;
}

export interface CallTrace {
  readonly traceId: string;
  readonly spanId: string;
  startAttempt(attempt: {
    index: number;
    deploymentId: string;
    provider: string;
    model: string;
    apiBase?: string;
    fallback: boolean;
    startTime: number;
  }): AttemptTrace;
  /** Ends the call span with everything the event knows. */
  end(event: CallEvent): void;
}

export interface AttemptTrace {
  end(record: AttemptRecord): void;
}

/**
 * Who may call a route. "caller" (the default) is the check of /v1/chat/completions: the master key
 * or the host's/plugins' authorize hook. "admin" is the master key (or an access marked admin); with
 * no master key configured it falls back to the caller check. "public" is no check at all (health).
 */
export type RouteAuth = "public" | "caller" | "admin";

/** What the gateway's authentication resolved for a request, passed to a route's `handle`. */
export interface RouteAccess {
  /** Call context the key or the authorize hook attached (user, team, tags, metadata). */
  context?: Partial<CallContext>;
  /** Model groups this caller may use; absent = all. */
  allowedModels?: string[];
  /** True for the master key (or an admin key); never true on a "public" route. */
  admin?: boolean;
  /**
   * When a plugin's virtual key admitted the caller: the object its `authenticate` returned (the same
   * object; the call's hooks get it as `access`).
   */
  pluginAccess?: PluginAccess;
}

/** A framework-agnostic route a plugin adds (e.g. /metrics, /v1/feedback). */
export interface PluginRoute {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /**
   * Path relative to the mount point, e.g. "/metrics" or "/feedback" (served with and without
   * "/v1"). A segment in braces, as in "/models/{id}", matches any one segment.
   */
  path: string;
  /** Default "caller": the gateway authenticates before `handle` runs (and before any body is read). */
  auth?: RouteAuth;
  /** Also served at the host's root when the gateway is mounted under a prefix (health, /metrics). */
  root?: boolean;
  handle(
    request: import("node:http").IncomingMessage,
    response: import("node:http").ServerResponse,
    body?: unknown,
    access?: RouteAccess,
  ): void | Promise<void>;
}

/** What a plugin's `authenticate` returns for a token it recognises (e.g. a virtual key of @llmux/control). */
export interface PluginAccess {
  /** Who the call belongs to (the key's user, team, alias in metadata); the host's resolveContext still wins. */
  context?: Partial<Pick<CallContext, "user" | "team" | "tags" | "metadata">>;
  /** Model groups the token may use (absent: all). */
  allowedModels?: string[];
  /** The token may use the admin routes (LiteLLM's proxy_admin role). */
  admin?: boolean;
}

/**
 * Counters shared by gateway instances, the part of core's SharedState (memory or Redis) a plugin may use
 * for rate limits: same signatures, so the gateway passes its own store.
 */
export interface PluginSharedState {
  readonly kind: string;
  incrWindow(key: string, by: number, windowMs: number): Promise<number>;
  getWindow(key: string, windowMs: number): Promise<number>;
  tryIncrWindow(
    key: string,
    by: number,
    windowMs: number,
    limit: number,
  ): Promise<{ allowed: boolean; count: number }>;
  acquire(
    key: string,
    options?: { limit?: number; ttlMs?: number },
  ): Promise<{ allowed: boolean; count: number }>;
  release(key: string): Promise<number>;
  /** Adds to a plain counter (budget spend shared across instances); `ttlMs` (re)sets its expiry. */
  incr?(key: string, by: number, ttlMs?: number): Promise<number>;
  /** Several plain counters in one round trip (0 for absent ones), in the order asked. */
  getMany?(keys: readonly string[]): Promise<number[]>;
}

/**
 * What @llmux/otel, @llmux/prometheus and @llmux/mlflow export as `createPlugin(name, options)`,
 * and what a host may pass in `plugins: []`.
 */
export interface LlmuxPlugin {
  readonly name: string;
  readonly sink?: CallbackSink;
  readonly tracer?: CallTracer;
  readonly routes?: PluginRoute[];
  /** Request hooks the plugin adds (budgets, limits); they run after the host's own. */
  readonly hooks?: RequestHooks;
  /**
   * Recognises a bearer token that is not the master key (a virtual key): its access, or undefined when
   * the token is not one of the plugin's. Throw (rejectCall) to refuse a known token (blocked, expired).
   * `keyHash`, when the gateway gives it, is the token's SHA-256 in lower-case hex (the gateway
   * hashed the token once already, to compare it with the master key): a plugin that looks keys
   * up by their hash can use it instead of hashing the token again. Optional: a gateway that does
   * not pass it, or a plugin that ignores it, works as before.
   */
  authenticate?(
    token: string,
    request: import("node:http").IncomingMessage,
    keyHash?: string,
  ): PluginAccess | undefined | Promise<PluginAccess | undefined>;
  /** Called by the gateway with engine statistics so a plugin can report drops (e.g. a metric). */
  observeEngine?(engine: EngineStatsSource): void;
  /** Called by the router when a deployment's state changes (healthy / cooling). */
  onDeploymentState?(state: DeploymentState): void;
  /**
   * Called after an upstream answer that carried rate-limit headers (OpenAI and Azure
   * `x-ratelimit-remaining-requests` / `-tokens`, Anthropic `anthropic-ratelimit-requests-remaining` /
   * `-tokens-remaining`): what the deployment may still send in the provider's current window.
   */
  onDeploymentRateLimits?(limits: DeploymentRateLimits): void;
  /** Called by the gateway with the shared-state store's statistics (errors falling back to local state). */
  observeSharedState?(source: SharedStateStatsSource): void;
  /**
   * Where the gateway keeps stored Responses API responses (`previous_response_id`, GET/DELETE
   * /v1/responses/{id}) instead of its own memory: the control plane's database. The first plugin
   * that offers one is used.
   */
  readonly responseStore?: PluginResponseStore;
  flush?(): Promise<void>;
  /** Flushes and releases; resolves by `options.deadline` when one is given (losses logged, counted). */
  shutdown?(options?: ShutdownOptions): Promise<void>;
}

/** A stored Responses API response (OpenAI's Response object plus what continuing it needs). */
export interface StoredResponseRecord {
  id: string;
  /** The Response object as the client received it. */
  response: Record<string, unknown>;
  /** The call's own input items (what GET /v1/responses/{id}/input_items lists). */
  input: Array<Record<string, unknown>>;
  /** The whole conversation to continue from: earlier turns, this input and the replayable output. */
  items: Array<Record<string, unknown>>;
  /** Output items by id, for `item_reference` inputs. */
  outputItems: Array<Record<string, unknown> & { id: string }>;
  /** The model group that answered. */
  model: string;
  /** SHA-256 of the API key that created it (absent on a gateway without keys). */
  owner?: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms after which it is gone. */
  expiresAt: number;
}

/**
 * The store behind the Responses API's stored responses. Every method returns a Promise (a database
 * or the gateway's memory); expired records are never returned.
 */
export interface PluginResponseStore {
  readonly kind: string;
  get(id: string): Promise<StoredResponseRecord | undefined>;
  /** Inserts or replaces a record (and its output items). */
  set(record: StoredResponseRecord): Promise<void>;
  /** True when a record was removed. */
  delete(id: string): Promise<boolean>;
  /** An output item of an unexpired stored response, by item id, with that response's owner. */
  item(itemId: string): Promise<{ item: Record<string, unknown>; owner?: string } | undefined>;
}

/** A deployment's remaining upstream rate limits, as its provider's last answer reported them. */
export interface DeploymentRateLimits {
  modelGroup: string;
  deploymentId: string;
  provider: string;
  model: string;
  /** Upstream origin without credentials or query string. */
  apiBase?: string;
  remainingRequests?: number;
  remainingTokens?: number;
}

export interface DeploymentState {
  modelGroup: string;
  deploymentId: string;
  provider: string;
  model: string;
  state: "healthy" | "cooling";
  until?: number;
}

export interface SinkStats {
  sink: string;
  delivered: number;
  dropped: number;
  errors: number;
  queued: number;
}

/**
 * The router's local-first sync with the shared store (SharedRouterState's `deltaStats`): counts
 * summed locally and written in one batch per sync interval. Totals since start, except `pending*`.
 */
export interface SharedStateDeltaStats {
  /** Flushes the shared store took, and those it did not (the deltas were kept for the next one). */
  flushes: number;
  failedFlushes: number;
  /** Not written yet. */
  pendingRequests: number;
  pendingTokens: number;
  pendingInFlight: number;
  /** Counts of a minute that ended more than a minute before they could be written: never written. */
  droppedRequests: number;
  droppedTokens: number;
}

/** The store shared by gateway instances (Redis), as plugins see it: for metrics. */
export interface SharedStateStatsSource {
  /**
   * `store`: "memory" or "redis"; `errors`: operations that fell back to local state since start;
   * `deltas`: the router's delta sync, when the router shares its state through the store.
   */
  stats(): { store: string; errors: number; degraded: boolean; deltas?: SharedStateDeltaStats };
}

export interface EngineStatsSource {
  stats(): SinkStats[];
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What the gateway gives a plugin factory when a callback name from the config activates it. */
export interface PluginFactoryContext {
  logger: Logger;
  env: Record<string, string | undefined>;
  /** `litellm_settings` from the config (callback-specific keys live there, as in LiteLLM). */
  settings: Record<string, unknown>;
  /** true when `turn_off_message_logging` is set: no prompt or response content may leave the process. */
  redact: boolean;
  /** `general_settings` of the config (database_url, key_store, ...). */
  generalSettings?: Record<string, unknown>;
  /** true when the gateway has neither a master key nor an authorize hook (anyone may call it). */
  gatewayOpen?: boolean;
  /** Whether a token is the master key (compared in constant time; the key itself never leaves the core). */
  isMasterKey?(token: string): boolean;
  /** The gateway's shared counters (memory, or Redis when configured). */
  sharedState?: PluginSharedState;
}

/**
 * Each of @llmux/otel, @llmux/prometheus and @llmux/mlflow exports `createPlugin` of this type; the core
 * imports the package when its callback name appears in `litellm_settings.callbacks`.
 * Names: "prometheus" → @llmux/prometheus; "otel", "langfuse_otel", "langfuse" → @llmux/otel; "mlflow" → @llmux/mlflow.
 * Several plugins may return the same `tracer` object: the gateway calls each distinct tracer once per call.
 */
export type PluginFactory = (
  name: string,
  context: PluginFactoryContext,
) => LlmuxPlugin | Promise<LlmuxPlugin>;
