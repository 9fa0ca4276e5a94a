import type {
  AttemptEvent,
  AttemptRecord,
  CallContext,
  CallEvent,
  CallStartEvent,
  CallTrace,
  CallType,
  FallbackEvent,
  PluginAccess,
} from "@llmux/callbacks";
import type { CostBreakdown, Usage } from "@llmux/pricing";
import type { Deployment } from "../config/types";
import type { LlmuxError } from "../errors/llmux-error";
import type { ActiveAttempt, RouteRequest } from "../router/router";
import { safeOrigin } from "../router/router";
import type { ClientAbort } from "./client-abort";
import type { GatewayInternals } from "./gateway-internals";
import { requestParams } from "./request-params";

export interface CallInput {
  callType: CallType;
  /** The request body as the client sent it (after request hooks). */
  body: Record<string, unknown>;
  context: CallContext & { traceId?: string };
  stream: boolean;
  signal: AbortSignal;
  /** The client's disconnect without an AbortSignal (the HTTP routes'): what the router and stream driver use. */
  clientAbort?: ClientAbort;
  /** W3C trace context from the incoming request. */
  carrier: { traceparent?: string; tracestate?: string };
  /** The host's request object, for hooks. */
  request: unknown;
  timeoutMs?: number;
  /** Per-request opt-out of content logging. */
  noLog: boolean;
  /** Whole-call start (before body parsing), epoch ms. */
  startTime: number;
  callId: string;
  /** The request hooks did not run for this call (count_tokens): its afterCall hooks do not run either. */
  hooksSkipped?: boolean;
  /** The plugin's answer for the caller's virtual key, for the hooks (`BeforeCallContext.access`). */
  pluginAccess?: PluginAccess | undefined;
  /** The request hooks' per-call state (BeforeCallContext.state), handed to the afterCall hooks. */
  hookState?: Record<string, unknown>;
}

export interface CallSuccess {
  deployment: Deployment;
  usage: Usage | null;
  responseModel?: string;
  responseId?: string;
  finishReasons?: string[];
  /** Response content for events (omitted when redacted). */
  response?: unknown;
  firstTokenTime?: number;
  /** count_tokens: the count and who made it. */
  tokenCount?: { inputTokens: number; source: "provider" | "estimate" };
  /** Response cache on: whether this answer was a hit, and what a hit saved. */
  cache?: { hit: boolean; savedCost?: number };
  /** The usage was counted by the gateway's tokenizer: the upstream reported none. */
  usageEstimated?: boolean;
}

/**
 * One call's lifecycle: the start event, the tracer spans, the attempts, and the single final event
 * with usage, cost and timings. Events are only built when something listens.
 */
export class CallRun {
  readonly redacted: boolean;
  readonly attempts: AttemptRecord[] = [];
  fallbacks = 0;
  /** Milliseconds spent waiting in retry backoff (neither upstream time nor gateway overhead). */
  waitedMs = 0;
  private readonly traces: CallTrace[] = [];
  private readonly attemptTraces = new Map<number, Array<{ end(record: AttemptRecord): void }>>();
  private startEvent: CallStartEvent | undefined;
  /** Whether anything (sinks, tracers, after-call hooks) receives this call's events. */
  readonly listening: boolean;
  private ended = false;

  constructor(
    private readonly gateway: GatewayInternals,
    readonly input: CallInput,
  ) {
    this.redacted = gateway.config.redact || input.noLog;
    this.listening = gateway.listening();
  }

  get callId(): string {
    return this.input.callId;
  }

  /** Whether a tracer started spans for this call (its attempts get spans too). */
  get tracing(): boolean {
    return this.traces.length > 0;
  }

  begin(): void {
    if (!this.listening) return;
    const { input } = this;
    const { body, context } = input;
    const model = String(body.model ?? "");
    // Parameters and messages are copied only for consumers that read content (sinks, tracers, hooks
    // that do not declare afterCallReadsContent: false); the messages never when redacted.
    const content = this.gateway.wantsContent();
    // One literal with every key (absent ones undefined): the same shape on every call.
    const event: CallStartEvent = {
      callId: input.callId,
      callType: input.callType,
      stream: input.stream,
      modelGroup: model,
      requestedModel: model,
      startTime: input.startTime,
      requestParams: content ? requestParams(body) : NO_PARAMS,
      redacted: this.redacted,
      tags: context.tags,
      metadata: context.metadata,
      user: context.user || undefined,
      team: context.team || undefined,
      session: context.session || undefined,
      traceName: context.traceName || undefined,
      generationName: context.generationName || undefined,
      messages: content && !this.redacted ? messagesOf(input) : undefined,
      traceId: undefined,
      spanId: undefined,
    };
    for (const tracer of this.gateway.tracers) {
      try {
        const trace = tracer.startCall(event, input.carrier);
        this.traces.push(trace);
        if (!event.traceId) {
          event.traceId = trace.traceId;
          event.spanId = trace.spanId;
        }
      } catch (error) {
        this.gateway.logger.warn("tracer failed to start a call span", { error: String(error) });
      }
    }
    if (!event.traceId && context.traceId) event.traceId = context.traceId;
    this.startEvent = event;
    this.gateway.engine.start(event);
  }

  /** Router hooks wiring attempts, fallbacks and spans to this call. */
  routeRequest(modelGroup: string, estimateInputTokens: () => number): RouteRequest {
    return new CallRouteRequest(this, modelGroup, estimateInputTokens);
  }

  /** The router's onAttemptStart (only when a tracer runs): the attempt's spans. */
  attemptStarted(attempt: ActiveAttempt): void {
    const spans = this.traces.map((trace) => {
      const info: Parameters<CallTrace["startAttempt"]>[0] = {
        index: attempt.index,
        deploymentId: attempt.deployment.id,
        provider: attempt.deployment.provider,
        model: attempt.deployment.model,
        fallback: attempt.fallback,
        startTime: attempt.startTime,
      };
      if (attempt.deployment.apiBase) info.apiBase = safeOrigin(attempt.deployment.apiBase);
      try {
        return trace.startAttempt(info);
      } catch {
        return { end: () => undefined };
      }
    });
    this.attemptTraces.set(attempt.index, spans);
  }

  /** The router's onAttemptEnd: the record kept, its spans ended, the attempt event sent. */
  attemptEnded(record: AttemptRecord): void {
    this.attempts.push(record);
    if (this.attemptTraces.size > 0) {
      const spans = this.attemptTraces.get(record.index);
      if (spans) for (const span of spans) safe(() => span.end(record));
    }
    // after-call hooks alone make a call listened to; they read the final event's attempts, not these
    const engine = this.gateway.engine;
    if (this.listening && engine.wantsAttempts) engine.attempt(attemptEvent(record, this.input.callId));
  }

  /** The router's onFallback. */
  fellBack(event: FallbackEvent): void {
    this.fallbacks++;
    if (this.listening) this.gateway.engine.fallback(event);
  }

  /** Cost of the call (null with a reason when unpriced). */
  price(deployment: Deployment, usage: Usage | null): { cost: CostBreakdown | null; reason?: string } {
    if (!usage) return { cost: null, reason: "the provider reported no usage" };
    try {
      const query: Parameters<GatewayInternals["pricing"]["cost"]>[0] = {
        provider: deployment.provider,
        model: deployment.model,
        usage,
      };
      if (deployment.baseModel) query.baseModel = deployment.baseModel;
      if (deployment.priceOverride) query.override = deployment.priceOverride;
      if (this.input.callType === "embeddings") query.callType = "embeddings";
      const result = this.gateway.pricing.cost(query);
      return result.cost ? { cost: result.cost } : { cost: null, reason: result.reason };
    } catch (error) {
      return { cost: null, reason: `pricing failed: ${String(error)}` };
    }
  }

  upstreamMs(): number {
    let total = 0;
    for (const attempt of this.attempts) total += attempt.latencyMs;
    return total;
  }

  /** What the gateway itself added so far: elapsed - upstream attempts (incl. one still open) - backoff waits. */
  overheadMs(openAttemptStart?: number): number {
    const now = Date.now();
    const open = openAttemptStart === undefined ? 0 : now - openAttemptStart;
    return roundMs(Math.max(0, now - this.input.startTime - this.upstreamMs() - open - this.waitedMs));
  }

  succeed(result: CallSuccess, cost: { cost: CostBreakdown | null; reason?: string }): CallEvent | undefined {
    if (this.ended) return undefined;
    this.ended = true;
    const { deployment } = result;
    // a cache hit used no deployment: its tokens count against no tpm
    if (result.usage && !result.cache?.hit)
      this.gateway.router.recordTokens(deployment.id, result.usage.totalTokens);
    if (!this.listening) return undefined;
    const event = this.finalEvent("success", deployment, result.usage, cost);
    if (result.responseModel) event.responseModel = result.responseModel;
    if (result.responseId) event.responseId = result.responseId;
    if (result.finishReasons) event.finishReasons = result.finishReasons;
    if (result.usageEstimated) event.usageEstimated = true;
    if (result.tokenCount) event.tokenCount = result.tokenCount;
    if (result.firstTokenTime !== undefined) {
      event.timings.firstTokenTime = result.firstTokenTime;
      if (this.input.stream) event.timings.ttftMs = result.firstTokenTime - this.input.startTime;
    }
    if (!this.redacted && result.response !== undefined) event.response = result.response;
    if (result.cache) {
      event.cacheHit = result.cache.hit;
      if (result.cache.savedCost !== undefined) event.cacheSavedCost = result.cache.savedCost;
    }
    this.deliver(event);
    return event;
  }

  fail(error: LlmuxError, deployment?: Deployment): CallEvent | undefined {
    if (this.ended) return undefined;
    this.ended = true;
    if (!this.listening) return undefined;
    const event = this.finalEvent("failure", deployment, null, { cost: null, reason: "the call failed" });
    event.error = { type: error.kind, status: error.status, message: this.gateway.scrub(error.message) };
    if (error.provider) event.error.provider = error.provider;
    if (error.upstreamStatus) event.error.upstreamStatus = error.upstreamStatus;
    this.deliver(event);
    return event;
  }

  private finalEvent(
    status: "success" | "failure",
    deployment: Deployment | undefined,
    usage: Usage | null,
    cost: { cost: CostBreakdown | null; reason?: string },
  ): CallEvent {
    const start = this.startEvent!;
    const endTime = Date.now();
    const durationMs = endTime - this.input.startTime;
    const upstreamMs = this.upstreamMs();
    const last = deployment ?? this.lastAttemptDeployment();
    // One literal with every key of a call event (absent ones undefined), not a copy of the start
    // event plus added keys: the same shape on every call.
    return {
      callId: start.callId,
      callType: start.callType,
      stream: start.stream,
      modelGroup: last ? last.modelGroup : start.modelGroup,
      requestedModel: start.requestedModel,
      startTime: start.startTime,
      requestParams: start.requestParams,
      redacted: start.redacted,
      tags: start.tags,
      metadata: start.metadata,
      user: start.user,
      team: start.team,
      session: start.session,
      traceName: start.traceName,
      generationName: start.generationName,
      messages: start.messages,
      traceId: start.traceId,
      spanId: start.spanId,
      status,
      usage,
      cost: cost.cost,
      timings: {
        startTime: this.input.startTime,
        endTime,
        durationMs,
        upstreamMs,
        // backoff waits are jittered (fractional ms): rounded like the x-llmux-overhead-ms header
        overheadMs: roundMs(Math.max(0, durationMs - upstreamMs - this.waitedMs)),
      },
      attempts: this.attempts,
      fallbacks: this.fallbacks,
      costReason: cost.reason || undefined,
      deploymentId: last?.id,
      provider: last?.provider,
      apiBase: last?.apiBase ? safeOrigin(last.apiBase) : undefined,
      responseModel: undefined,
      responseId: undefined,
      finishReasons: undefined,
      usageEstimated: undefined,
      tokenCount: undefined,
      error: undefined,
      response: undefined,
      cacheHit: undefined,
      cacheSavedCost: undefined,
    };
  }

  private lastAttemptDeployment(): Deployment | undefined {
    const last = this.attempts.at(-1);
    return last
      ? this.gateway.router
          .deployments(last.modelGroup)
          .find((deployment) => deployment.id === last.deploymentId)
      : undefined;
  }

  private deliver(event: CallEvent): void {
    for (const trace of this.traces) safe(() => trace.end(event));
    if (event.status === "success") this.gateway.engine.success(event);
    else this.gateway.engine.failure(event);
    if (this.gateway.afterCallHooks.length > 0 && !this.input.hooksSkipped)
      this.gateway.runAfterCall(this, event);
  }
}

/** Request parameters of an event nobody reads content from (shared, frozen). */
const NO_PARAMS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** The prompt an event shows: messages, an embedding's or a response's input, a completion's prompt. */
function messagesOf(input: CallInput): unknown {
  const body = input.body;
  return input.callType === "embeddings" || input.callType === "responses"
    ? body.input
    : input.callType === "completions"
      ? (body.prompt ?? body.messages)
      : body.messages;
}

/**
 * What the router gets for one call: its limits and callbacks into the call's run. A class, so a call
 * makes one object (no closures); the input token estimate is computed only when routing reads it
 * (a limit, a context check, cost routing).
 */
class CallRouteRequest implements RouteRequest {
  readonly callId: string;
  readonly stream: boolean;
  readonly estimatedOutputTokens: number;
  readonly clientAbort: CallInput["clientAbort"];
  readonly timeoutMs: number | undefined;
  readonly fallbacks: string[] | undefined;
  readonly onAttemptStart: ((attempt: ActiveAttempt) => void) | undefined;
  private estimate: number | undefined = undefined;

  constructor(
    private readonly run: CallRun,
    readonly modelGroup: string,
    private readonly estimateInputTokens: () => number,
  ) {
    const { input } = run;
    const body = input.body;
    this.callId = input.callId;
    this.stream = input.stream;
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;
    this.estimatedOutputTokens = typeof maxTokens === "number" ? maxTokens : 256;
    this.clientAbort = input.clientAbort;
    this.timeoutMs = input.timeoutMs;
    const fallbacks = body.fallbacks;
    this.fallbacks =
      Array.isArray(fallbacks) && fallbacks.every((item) => typeof item === "string")
        ? (fallbacks as string[])
        : undefined;
    this.onAttemptStart = run.tracing ? (attempt) => run.attemptStarted(attempt) : undefined;
  }

  get estimatedInputTokens(): number {
    this.estimate ??= this.estimateInputTokens();
    return this.estimate;
  }

  /** Read only on rare paths (backoff, waiting for a slot) when clientAbort is there. */
  get signal(): AbortSignal {
    return this.run.input.signal;
  }

  onBackoff(milliseconds: number): void {
    this.run.waitedMs += milliseconds;
  }

  onAttemptEnd(record: AttemptRecord): void {
    this.run.attemptEnded(record);
  }

  onFallback(event: FallbackEvent): void {
    this.run.fellBack(event);
  }
}

function safe(run: () => void): void {
  try {
    run();
  } catch {
    // tracers must never break a call
  }
}

/** Milliseconds to two decimals (the precision of the x-llmux-overhead-ms header). */
function roundMs(milliseconds: number): number {
  return Math.round(milliseconds * 100) / 100;
}

/**
 * The attempt event: the record's keys and the call id, in one literal (absent keys undefined). Not
 * `{ ...record, callId }`: on Node 20 (V8 11.3) a key added to a spread copy makes a new hidden class on
 * every call (about 2 µs, and a map left for the old generation's collector); one literal has one shape.
 * Typed so that a key added to AttemptRecord, optional or not, fails to compile until it is copied here.
 */
function attemptEvent(record: AttemptRecord, callId: string): AttemptEvent {
  const event: { [Key in keyof Required<AttemptEvent>]: AttemptEvent[Key] } = {
    index: record.index,
    modelGroup: record.modelGroup,
    deploymentId: record.deploymentId,
    provider: record.provider,
    model: record.model,
    startTime: record.startTime,
    endTime: record.endTime,
    latencyMs: record.latencyMs,
    outcome: record.outcome,
    fallback: record.fallback,
    apiBase: record.apiBase,
    error: record.error,
    callId,
  };
  return event;
}
