import type {
  AttemptRecord,
  CooldownEvent,
  DeploymentState,
  ErrorKind,
  FallbackEvent,
} from "@llmux/callbacks";
import type { Deployment, RouterSettings } from "../config/types";
import { canFallback, countsAgainstDeployment, retriesAllowed } from "../errors/classify";
import { isLlmuxError, LlmuxError, toLlmuxError } from "../errors/llmux-error";
import { AttemptSignal, type UpstreamSignal } from "./attempt-signal";
import { RequestFailures } from "./request-failures";
import { type Clock, MemoryRouterState, type RouterState, systemClock } from "./router-state";
import { type RoutingStrategy, strategyByName } from "./strategies";
import { WildcardGroups } from "./wildcard-groups";

export interface RouterOptions {
  deployments: readonly Deployment[];
  settings: RouterSettings;
  state?: RouterState;
  clock?: Clock;
  random?: () => number;
  /** A custom strategy replaces routing_strategy. */
  strategy?: RoutingStrategy;
  strategyArgs?: Record<string, unknown>;
  /** Expected cost of a request on a deployment (cost-based routing). */
  expectedCost?: (deployment: Deployment, inputTokens: number, outputTokens: number) => number | null;
  /**
   * The context window the price files give a deployment's model (enable_pre_call_checks: true uses it
   * when model_info.max_input_tokens is not set).
   */
  contextWindow?: (deployment: Deployment) => number | undefined;
  onCooldown?: (event: CooldownEvent) => void;
  onDeploymentState?: (state: DeploymentState) => void;
  /** Sleep used for backoff (injectable for tests). */
  sleep?: (milliseconds: number, signal: AbortSignal) => Promise<void>;
}

export interface RouteRequest {
  callId: string;
  modelGroup: string;
  stream: boolean;
  estimatedInputTokens: number;
  estimatedOutputTokens: number;
  /** Client disconnect. */
  signal: AbortSignal;
  /** The same, without an AbortSignal: used instead of `signal` when given. */
  clientAbort?: { readonly aborted: boolean; onAbort(listener: () => void): () => void };
  /** Whole-call timeout override (body `timeout` or `x-llmux-timeout`), milliseconds. */
  timeoutMs?: number;
  /** Milliseconds the router waited in backoff (not gateway overhead). */
  onBackoff?: (milliseconds: number) => void;
  /** Request-level fallbacks (body `fallbacks`). */
  fallbacks?: string[];
  onAttemptStart?: (attempt: ActiveAttempt) => void;
  onAttemptEnd?: (record: AttemptRecord, attempt: ActiveAttempt) => void;
  onFallback?: (event: FallbackEvent) => void;
}

/** One upstream attempt in progress. The operation uses its signal; the caller finishes it. */
export interface ActiveAttempt {
  readonly index: number;
  readonly deployment: Deployment;
  readonly modelGroup: string;
  readonly fallback: boolean;
  readonly startTime: number;
  /** Aborted by client disconnect, by the attempt timeout or by `abort()` (an AbortSignal made on first read). */
  readonly signal: AbortSignal;
  /** The same abort without an AbortSignal: what the built-in providers give the upstream request. */
  readonly upstreamSignal: UpstreamSignal;
  /**
   * Streams, after the first chunk: from now on the timer bounds the silence between chunks
   * (`idleMs`), never past the call's deadline. Call `touch()` on every chunk.
   */
  armIdle(idleMs: number): void;
  /** A chunk arrived: restart the idle timer (a `refresh()`, no new timer). */
  touch(): void;
  /** Records time to first token (streams). */
  markFirstToken(): void;
  abort(reason: LlmuxError): void;
  /** Ends the attempt: releases its slot and timers and records its outcome. Idempotent. */
  finish(outcome: "success" | "failure" | "aborted", error?: LlmuxError): AttemptRecord;
}

export interface RouteResult<T> {
  value: T;
  attempt: ActiveAttempt;
  /** Every attempt so far (failed ones finished; the successful one is finished by the caller). */
  attempts: AttemptRecord[];
  fallbacks: number;
}

const MINUTE = 60_000;
/** Code of a timeout caused by the call's own deadline (a request override), not by the deployment. */
export const CALL_DEADLINE = "call_deadline";

/**
 * The router: picks a deployment per attempt and runs the retry / fallback / cooldown algorithm
 * (docs/routing.md). One attempt budget per call: 1 + the retries the error kinds allow (shared by
 * every group) + one attempt per fallback group, at most max_fallbacks groups.
 */
export class Router {
  readonly settings: RouterSettings;
  private readonly state: RouterState;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly strategy: RoutingStrategy;
  private readonly groups = new Map<string, Deployment[]>();
  /** `model_name: "openai/*"` groups and the concrete groups made from them. */
  readonly wildcards: WildcardGroups;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly recoveryTimers = new Map<string, NodeJS.Timeout>();
  /** What an attempt needs of its router (made once). */
  private attemptHost: AttemptHost | undefined;

  constructor(private readonly options: RouterOptions) {
    this.settings = options.settings;
    this.state = options.state ?? new MemoryRouterState();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.strategy =
      options.strategy ??
      strategyByName(options.settings.routingStrategy, options.strategyArgs ?? options.settings.strategyArgs);
    this.wildcards = new WildcardGroups(options.deployments);
    for (const deployment of options.deployments) {
      if (deployment.wildcard) continue;
      const list = this.groups.get(deployment.modelGroup) ?? [];
      list.push(deployment);
      this.groups.set(deployment.modelGroup, list);
    }
  }

  /**
   * The group a client name refers to: an exact model_name, an alias, else a wildcard pattern that
   * matches it (the concrete group is the name itself); undefined when nothing does.
   */
  resolveGroup(name: string): string | undefined {
    if (this.groups.has(name)) return name;
    const target = this.settings.modelGroupAlias[name];
    if (target !== undefined)
      return this.groups.has(target) || this.wildcards.resolve(target) ? target : undefined;
    return this.wildcards.size > 0 && this.wildcards.resolve(name) ? name : undefined;
  }

  /** Exact groups and the aliases not marked hidden (wildcard expansions are listed by the gateway). */
  modelGroups(): string[] {
    const hidden = new Set(this.settings.hiddenAliases ?? []);
    return [
      ...this.groups.keys(),
      ...Object.keys(this.settings.modelGroupAlias).filter((name) => !hidden.has(name)),
    ];
  }

  deployments(group: string): readonly Deployment[] {
    return this.groups.get(group) ?? this.wildcards.resolve(group) ?? [];
  }

  /** Deployments cooling down now, with when they return. */
  coolingDeployments(): Array<{ deployment: Deployment; until: number }> {
    const now = this.clock.now();
    const result: Array<{ deployment: Deployment; until: number }> = [];
    for (const list of [...this.groups.values(), ...this.wildcards.resolved()]) {
      for (const deployment of list) {
        const until = this.state.cooldownUntil(deployment.id, now);
        if (until !== undefined) result.push({ deployment, until });
      }
    }
    return result;
  }

  recordTokens(deploymentId: string, tokens: number): void {
    this.state.recordTokens(deploymentId, tokens, this.clock.now());
  }

  inFlight(deploymentId: string): number {
    return this.state.inFlight(deploymentId);
  }

  async route<T>(
    request: RouteRequest,
    operation: (attempt: ActiveAttempt) => Promise<T>,
  ): Promise<RouteResult<T>> {
    const failures = new RequestFailures();
    let succeeded = false;
    try {
      const result = await this.routeAttempts(request, operation, failures);
      succeeded = true;
      return result;
    } finally {
      for (const failure of failures.settle(succeeded))
        this.chargeFailure(failure.deployment, failure.error, failure.time);
    }
  }

  private async routeAttempts<T>(
    request: RouteRequest,
    operation: (attempt: ActiveAttempt) => Promise<T>,
    failures: RequestFailures,
  ): Promise<RouteResult<T>> {
    const firstGroup = this.resolveGroup(request.modelGroup);
    if (!firstGroup) {
      throw new LlmuxError({
        kind: "not_found",
        message: `Model '${request.modelGroup}' is not configured`,
        param: "model",
        code: "model_not_found",
      });
    }
    const start = this.clock.now();
    const deadline = start + (request.timeoutMs ?? this.settings.timeoutMs);
    const attempts: AttemptRecord[] = [];
    // made when first needed (most calls take one attempt): groups visited, deployments tried in
    // this group, deployments whose shared rpm window refused this call (instances share one limit)
    let visited: Set<string> | undefined;
    let tried: Set<string> | undefined;
    let atLimit: Set<string> | undefined;
    let group = firstGroup;
    let fallbacks = 0;
    let retriesUsed = 0;
    let lastUpstreamError: LlmuxError | undefined;
    const fallBackTo = (next: string, reason: ErrorKind) => {
      fallbacks++;
      request.onFallback?.({
        callId: request.callId,
        time: this.clock.now(),
        fromGroup: group,
        toGroup: next,
        reason,
      });
      visited ??= new Set([firstGroup]);
      visited.add(next);
      group = next;
      tried?.clear();
    };

    while (true) {
      if (clientGone(request)) throw abortedError();
      let deployment: Deployment;
      try {
        deployment =
          this.selectOnly(group, request, atLimit) ??
          (await this.select(group, request, tried ?? NO_NAMES, deadline, atLimit));
        if (deployment.rpm && this.state.reserveRequest) {
          if (!(await this.state.reserveRequest(deployment.id, deployment.rpm))) {
            atLimit ??= new Set();
            atLimit.add(deployment.id);
            continue;
          }
        }
      } catch (raw) {
        const error = toLlmuxError(raw);
        const next = canFallback(error.kind)
          ? this.nextGroup(group, error.kind, visited ?? new Set([firstGroup]), request, fallbacks)
          : undefined;
        // A retry that finds the group cooled by the failure it retries reports that failure
        // (e.g. the upstream's 429), not a generic "all cooling" 503.
        if (!next)
          throw lastUpstreamError && error.code === "all_deployments_cooling" ? lastUpstreamError : error;
        fallBackTo(next, error.kind);
        continue;
      }

      const attempt = this.startAttempt(
        attempts.length,
        deployment,
        group,
        group !== firstGroup,
        request,
        deadline,
        failures,
      );
      try {
        request.onAttemptStart?.(attempt);
      } catch {
        // tracing must never fail a call
      }
      try {
        const value = await operation(attempt);
        return { value, attempt, attempts, fallbacks };
      } catch (raw) {
        const error = clientGone(request) ? abortedError() : withDeployment(toLlmuxError(raw), deployment);
        const record = attempt.finish(error.kind === "aborted" ? "aborted" : "failure", error);
        attempts.push(record);
        if (error.kind === "aborted") throw error;
        lastUpstreamError = error;
        tried ??= new Set();
        tried.add(deployment.id);

        const now = this.clock.now();
        const allowed = retriesAllowed(error.kind, this.settings.numRetries, {
          byKind: this.settings.retryPolicy,
        });
        if (retriesUsed < allowed && now < deadline) {
          retriesUsed++;
          if (this.hasHealthyUntried(group, tried, now)) continue;
          const wait = this.backoff(retriesUsed, error.retryAfterMs);
          if (wait <= this.settings.maxRetryWaitMs && now + wait < deadline) {
            request.onBackoff?.(wait);
            await (this.options.sleep ?? abortableSleep)(wait, request.signal).catch(() => undefined);
            if (clientGone(request)) throw abortedError();
            tried?.clear();
            continue;
          }
        }
        const next = canFallback(error.kind)
          ? this.nextGroup(group, error.kind, visited ?? new Set([firstGroup]), request, fallbacks)
          : undefined;
        if (next && this.clock.now() < deadline) {
          fallBackTo(next, error.kind);
          continue;
        }
        throw error;
      }
    }
  }

  /** Exponential backoff with full jitter above a floor; a retry-after wins when longer. */
  private backoff(retry: number, retryAfterMs: number | undefined): number {
    const floor = this.settings.retryAfterFloorMs;
    const exponential = Math.min(8_000, floor * 2 ** (retry - 1));
    const jittered = floor + this.random() * exponential;
    return retryAfterMs !== undefined ? Math.max(retryAfterMs, floor) : jittered;
  }

  private nextGroup(
    group: string,
    kind: ErrorKind,
    visited: Set<string>,
    request: RouteRequest,
    fallbacksSoFar: number,
  ): string | undefined {
    if (fallbacksSoFar >= this.settings.maxFallbacks) return undefined;
    let candidates: string[];
    if (kind === "context_window_exceeded") candidates = this.settings.contextWindowFallbacks[group] ?? [];
    else if (kind === "content_policy") candidates = this.settings.contentPolicyFallbacks[group] ?? [];
    else {
      candidates =
        request.fallbacks ??
        this.settings.fallbacks[group] ??
        this.settings.fallbacks["*"] ??
        this.settings.defaultFallbacks;
    }
    for (const candidate of candidates) {
      const resolved = this.resolveGroup(candidate);
      if (resolved && !visited.has(resolved)) return resolved;
    }
    return undefined;
  }

  private hasHealthyUntried(group: string, tried: ReadonlySet<string>, now: number): boolean {
    return this.deployments(group).some(
      (deployment) => !tried.has(deployment.id) && this.state.cooldownUntil(deployment.id, now) === undefined,
    );
  }

  /**
   * The common case without arrays or a promise: a group of one deployment that can take the call
   * now (fits, not cooling, within its limits and parallel slots). Undefined otherwise: `select`
   * decides (and says why none can).
   */
  private selectOnly(
    group: string,
    request: RouteRequest,
    atLimit: ReadonlySet<string> | undefined,
  ): Deployment | undefined {
    const all = this.deployments(group);
    if (all.length !== 1) return undefined;
    const deployment = all[0]!;
    if (atLimit?.has(deployment.id)) return undefined;
    if (this.settings.preCallChecks !== false) {
      const window = this.contextWindow(deployment);
      if (window && request.estimatedInputTokens > window) return undefined;
    }
    const now = this.clock.now();
    if (this.state.cooldownUntil(deployment.id, now) !== undefined) return undefined;
    if (deployment.rpm || deployment.tpm) {
      const usage = this.state.usage(deployment.id, now);
      if (deployment.rpm && usage.requests >= deployment.rpm) return undefined;
      if (deployment.tpm && usage.tokens + request.estimatedInputTokens > deployment.tpm) return undefined;
    }
    if (
      deployment.maxParallelRequests &&
      this.state.inFlight(deployment.id) >= deployment.maxParallelRequests
    )
      return undefined;
    return deployment;
  }

  /** Healthy candidates in order: untried first, lowest `order` first, within limits; then the strategy. */
  private async select(
    group: string,
    request: RouteRequest,
    tried: ReadonlySet<string>,
    deadline: number,
    atLimit?: ReadonlySet<string>,
  ): Promise<Deployment> {
    const all = this.deployments(group);
    let now = this.clock.now();
    const fitting =
      this.settings.preCallChecks === false
        ? all
        : all.filter((deployment) => {
            const window = this.contextWindow(deployment);
            return !window || request.estimatedInputTokens <= window;
          });
    if (fitting.length === 0) {
      throw new LlmuxError({
        kind: "context_window_exceeded",
        message: `The request (about ${request.estimatedInputTokens} tokens) exceeds the context window of every deployment of '${group}'`,
        code: "context_length_exceeded",
      });
    }
    const healthy = fitting.filter(
      (deployment) => this.state.cooldownUntil(deployment.id, now) === undefined,
    );
    if (healthy.length === 0) throw this.allCooling(group, fitting, now);
    const withinRate = healthy.filter((deployment) => {
      if (atLimit?.has(deployment.id)) return false;
      if (!deployment.rpm && !deployment.tpm) return true;
      const usage = this.state.usage(deployment.id, now);
      if (deployment.rpm && usage.requests >= deployment.rpm) return false;
      if (deployment.tpm && usage.tokens + request.estimatedInputTokens > deployment.tpm) return false;
      return true;
    });
    if (withinRate.length === 0) {
      const retryAfterMs = MINUTE - (now % MINUTE);
      throw new LlmuxError({
        kind: "rate_limit",
        message: `Every deployment of '${group}' is at its rpm/tpm limit for this minute; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
        retryAfterMs,
      });
    }
    const untried = withinRate.filter((deployment) => !tried.has(deployment.id));
    const pool = untried.length > 0 ? untried : withinRate;
    let lowestOrder = Number.POSITIVE_INFINITY;
    for (const deployment of pool) lowestOrder = Math.min(lowestOrder, deployment.order);
    const ordered = pool.filter((deployment) => deployment.order === lowestOrder);

    let free = ordered.filter(
      (deployment) =>
        !deployment.maxParallelRequests ||
        this.state.inFlight(deployment.id) < deployment.maxParallelRequests,
    );
    if (free.length === 0) {
      const waitUntil = Math.min(deadline, this.clock.now() + this.settings.maxParallelWaitMs);
      while (free.length === 0) {
        const remaining = waitUntil - this.clock.now();
        if (clientGone(request)) throw abortedError();
        if (remaining <= 0) {
          throw new LlmuxError({
            kind: "rate_limit",
            message: `Every deployment of '${group}' is at max_parallel_requests; waited ${this.settings.maxParallelWaitMs} ms`,
            retryAfterMs: 1000,
          });
        }
        await this.waitForSlot(group, remaining, request.signal);
        free = ordered.filter(
          (deployment) =>
            this.state.inFlight(deployment.id) < (deployment.maxParallelRequests ?? Number.POSITIVE_INFINITY),
        );
      }
      now = this.clock.now();
    }
    if (free.length === 1) return free[0]!;
    return this.strategy(free, {
      state: this.state,
      now,
      random: this.random,
      stream: request.stream,
      estimatedInputTokens: request.estimatedInputTokens,
      estimatedOutputTokens: request.estimatedOutputTokens,
      expectedCost: (deployment) =>
        this.options.expectedCost?.(
          deployment,
          request.estimatedInputTokens,
          request.estimatedOutputTokens,
        ) ?? null,
    });
  }

  /** model_info.max_input_tokens, else (enable_pre_call_checks: true) the price files' window. */
  private contextWindow(deployment: Deployment): number | undefined {
    if (deployment.maxInputTokens) return deployment.maxInputTokens;
    return this.settings.preCallChecks === true ? this.options.contextWindow?.(deployment) : undefined;
  }

  private allCooling(group: string, deployments: readonly Deployment[], now: number): LlmuxError {
    let soonest = Number.POSITIVE_INFINITY;
    for (const deployment of deployments)
      soonest = Math.min(soonest, this.state.cooldownUntil(deployment.id, now) ?? now);
    const retryAfterMs = Math.max(0, soonest - now);
    return new LlmuxError({
      kind: "unavailable",
      status: 503,
      message: `Every deployment of '${group}' is cooling down after failures; the first returns in ${Math.ceil(retryAfterMs / 1000)} s (at ${new Date(soonest).toISOString()})`,
      retryAfterMs,
      code: "all_deployments_cooling",
    });
  }

  private waitForSlot(group: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(group) ?? new Set();
      this.waiters.set(group, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }

  private startAttempt(
    index: number,
    deployment: Deployment,
    group: string,
    fallback: boolean,
    request: RouteRequest,
    deadline: number,
    failures: RequestFailures,
  ): ActiveAttempt {
    this.attemptHost ??= {
      state: this.state,
      clock: this.clock,
      settings: this.settings,
      notifySlot: (slotGroup) => this.notifySlot(slotGroup),
      onFailure: (failed, error, now, requestFailures) => this.onFailure(failed, error, now, requestFailures),
    };
    return new RouterAttempt(
      this.attemptHost,
      index,
      deployment,
      group,
      fallback,
      request,
      deadline,
      failures,
    );
  }

  private notifySlot(group: string): void {
    const set = this.waiters.get(group);
    if (!set || set.size === 0) return;
    const [first] = set;
    first?.();
  }

  /** Cooldown rules: 429 -> retry-after or cooldown_time; 401/403/404 -> cooldown_time; allowed_fails per minute. */
  private onFailure(deployment: Deployment, error: LlmuxError, now: number, failures: RequestFailures): void {
    if (!countsAgainstDeployment(error.kind) || error.code === CALL_DEADLINE) return;
    let until: number | undefined;
    if (error.kind === "rate_limit" && error.upstreamStatus === 429) {
      until = now + (error.retryAfterMs ?? this.settings.cooldownTimeMs);
    } else if (
      error.kind === "authentication" ||
      error.kind === "permission_denied" ||
      error.kind === "not_found"
    ) {
      until = now + this.settings.cooldownTimeMs;
    } else {
      // Charged when the request settles (see RequestFailures): maybe the request is at fault.
      if (failures.defer(deployment, error, now)) return;
      this.chargeFailure(deployment, error, now);
      return;
    }
    this.cool(deployment, error, now, until);
  }

  /** Counts one failure against allowed_fails; cools the deployment when it reached them. */
  private chargeFailure(deployment: Deployment, error: LlmuxError, now: number): void {
    const failures = this.state.recordFailure(deployment.id, now);
    if (failures >= this.settings.allowedFails)
      this.cool(deployment, error, now, now + this.settings.cooldownTimeMs);
  }

  private cool(deployment: Deployment, error: LlmuxError, now: number, until: number): void {
    if (until <= now) return;
    this.state.setCooldown(deployment.id, until);
    this.notify(() =>
      this.options.onCooldown?.({
        time: now,
        modelGroup: deployment.modelGroup,
        deploymentId: deployment.id,
        provider: deployment.provider,
        reason: error.kind,
        until,
      }),
    );
    this.notify(() =>
      this.options.onDeploymentState?.({
        modelGroup: deployment.modelGroup,
        deploymentId: deployment.id,
        provider: deployment.provider,
        model: deployment.model,
        state: "cooling",
        until,
      }),
    );
    const previous = this.recoveryTimers.get(deployment.id);
    if (previous) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.recoveryTimers.delete(deployment.id);
      this.notify(() =>
        this.options.onDeploymentState?.({
          modelGroup: deployment.modelGroup,
          deploymentId: deployment.id,
          provider: deployment.provider,
          model: deployment.model,
          state: "healthy",
        }),
      );
    }, until - now);
    timer.unref?.();
    this.recoveryTimers.set(deployment.id, timer);
  }

  /** Runs a listener (plugins, events) so that its failure never reaches a call or the process. */
  private notify(run: () => void): void {
    try {
      run();
    } catch {
      // listeners are isolated
    }
  }

  close(): void {
    for (const timer of this.recoveryTimers.values()) clearTimeout(timer);
    this.recoveryTimers.clear();
  }
}

/** Whether the call's client left. */
/** What an attempt's timer bounds: the first chunk (stream_timeout), the answer, an idle gap, the call's deadline. */
type TimerKind = "first-chunk" | "answer" | "idle" | "deadline";

/** What an attempt reads and calls of the router that started it. */
interface AttemptHost {
  readonly state: RouterState;
  readonly clock: Clock;
  readonly settings: RouterSettings;
  notifySlot(group: string): void;
  onFailure(deployment: Deployment, error: LlmuxError, now: number, failures: RequestFailures): void;
}

/**
 * One attempt: its slot, its timer (first answer, then idle gaps, never past the call's deadline) and
 * its abort. A class, so an attempt costs one object and no closures besides its client listener.
 */
class RouterAttempt implements ActiveAttempt {
  readonly startTime: number;
  private readonly abortSignal = new AttemptSignal();
  private readonly stopListening: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** What the armed timer bounds (its message is written only if it fires). */
  private timerKind: TimerKind = "answer";
  private timerMs = 0;
  private idleMs = 0;
  private timerIdle = false;
  private firstTokenAt: number | undefined = undefined;
  private finished: AttemptRecord | undefined = undefined;

  constructor(
    private readonly host: AttemptHost,
    readonly index: number,
    readonly deployment: Deployment,
    readonly modelGroup: string,
    readonly fallback: boolean,
    private readonly request: RouteRequest,
    private readonly deadline: number,
    private readonly failures: RequestFailures,
  ) {
    const startTime = host.clock.now();
    this.startTime = startTime;
    const signal = this.abortSignal;
    if (clientGone(request)) signal.abort(abortedError());
    else this.stopListening = onClientGone(request, () => signal.abort(abortedError()));
    const settings = host.settings;
    const configuredTimeout = deployment.timeoutMs ?? settings.timeoutMs;
    const remaining = deadline - startTime;
    const streamTimeout = deployment.streamTimeoutMs ?? settings.streamTimeoutMs;
    if (
      request.stream &&
      streamTimeout !== undefined &&
      streamTimeout < Math.min(configuredTimeout, remaining)
    ) {
      this.arm(streamTimeout, "first-chunk");
    } else if (remaining < configuredTimeout) {
      this.arm(remaining, "deadline");
    } else {
      this.arm(configuredTimeout, "answer");
    }
    host.state.acquire(deployment.id);
    host.state.recordRequest(deployment.id, startTime);
  }

  get signal(): AbortSignal {
    return this.abortSignal.signal;
  }

  get upstreamSignal(): UpstreamSignal {
    return this.abortSignal;
  }

  armIdle(milliseconds: number): void {
    this.idleMs = milliseconds;
    this.touch();
  }

  touch(): void {
    const left = this.deadline - this.host.clock.now();
    if (left <= this.idleMs) {
      // Within the idle window of the deadline, the deadline's timer bounds the call: once armed it
      // stays (later reads cannot move the deadline), so a read costs no new timer. With the default
      // settings (idle gap = timeout) that is every read after the first.
      if (this.timerKind !== "deadline" || this.timer === undefined) this.arm(left, "deadline");
    } else if (this.timerIdle && this.timer) {
      this.timer.refresh();
    } else {
      this.arm(this.idleMs, "idle");
      this.timerIdle = true;
    }
  }

  markFirstToken(): void {
    if (this.firstTokenAt === undefined) {
      this.firstTokenAt = this.host.clock.now();
      this.host.state.recordLatency(this.deployment.id, "ttft", this.firstTokenAt - this.startTime);
    }
  }

  abort(reason: LlmuxError): void {
    this.abortSignal.abort(reason);
  }

  finish(outcome: "success" | "failure" | "aborted", error?: LlmuxError): AttemptRecord {
    if (this.finished) return this.finished;
    if (this.timer) clearTimeout(this.timer);
    this.stopListening?.();
    const { host, deployment, startTime, request } = this;
    const endTime = host.clock.now();
    host.state.release(deployment.id);
    host.notifySlot(this.modelGroup);
    if (outcome === "success" && !request.stream)
      host.state.recordLatency(deployment.id, "latency", endTime - startTime);
    if (outcome === "failure" && error) host.onFailure(deployment, error, endTime, this.failures);
    const finished: AttemptRecord = {
      index: this.index,
      modelGroup: this.modelGroup,
      deploymentId: deployment.id,
      provider: deployment.provider,
      model: deployment.model,
      startTime,
      endTime,
      latencyMs: endTime - startTime,
      outcome,
      fallback: this.fallback,
    };
    this.finished = finished;
    if (deployment.apiBase) finished.apiBase = safeOrigin(deployment.apiBase);
    if (error) {
      finished.error = { type: error.kind, status: error.status, message: error.message };
      if (error.provider) finished.error.provider = error.provider;
      if (error.upstreamStatus) finished.error.upstreamStatus = error.upstreamStatus;
    }
    request.onAttemptEnd?.(finished, this);
    return finished;
  }

  /** The timer fired: the attempt is aborted with a timeout. */
  fire(): void {
    const { deployment, timerMs } = this;
    const kind = this.timerKind;
    const message =
      kind === "first-chunk"
        ? `Deployment '${deployment.id}' sent no first chunk within stream_timeout (${timerMs} ms)`
        : kind === "answer"
          ? `Deployment '${deployment.id}' did not answer within ${timerMs} ms`
          : kind === "idle"
            ? `Deployment '${deployment.id}' sent no chunk for ${timerMs} ms`
            : `The call exceeded its timeout of ${this.request.timeoutMs ?? this.host.settings.timeoutMs} ms`;
    this.abortSignal.abort(
      new LlmuxError({
        kind: "timeout",
        status: 504,
        message,
        provider: deployment.provider,
        deploymentId: deployment.id,
        // A deadline the caller chose is not the deployment's fault: it must not count towards a cooldown.
        ...(kind === "deadline" ? { code: CALL_DEADLINE } : {}),
      }),
    );
  }

  private arm(milliseconds: number, kind: TimerKind): void {
    this.timerIdle = false;
    this.timerKind = kind;
    this.timerMs = milliseconds;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(fireAttempt, Math.max(1, milliseconds), this);
    this.timer.unref?.();
  }
}

function fireAttempt(attempt: RouterAttempt): void {
  attempt.fire();
}

/** An empty set of names, read where a set was not made yet. */
const NO_NAMES: ReadonlySet<string> = new Set();

function clientGone(request: RouteRequest): boolean {
  return request.clientAbort ? request.clientAbort.aborted : request.signal.aborted;
}

/** Calls `listener` once when the call's client leaves; returns the unsubscribe. */
function onClientGone(request: RouteRequest, listener: () => void): () => void {
  if (request.clientAbort) return request.clientAbort.onAbort(listener);
  const signal = request.signal;
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

function abortedError(): LlmuxError {
  return new LlmuxError({ kind: "aborted", message: "The client closed the connection" });
}

function withDeployment(error: LlmuxError, deployment: Deployment): LlmuxError {
  if (error.deploymentId || !isLlmuxError(error)) return error;
  return new LlmuxError({
    kind: error.kind,
    status: error.status,
    message: error.message,
    provider: error.provider ?? deployment.provider,
    deploymentId: deployment.id,
    ...(error.upstreamStatus === undefined ? {} : { upstreamStatus: error.upstreamStatus }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    code: error.code,
    param: error.param,
  });
}

const origins = new Map<string, string>();

/** An api_base without credentials, path or query (no secrets in events); cached per api_base. */
export function safeOrigin(apiBase: string): string {
  let origin = origins.get(apiBase);
  if (origin === undefined) {
    try {
      const url = new URL(apiBase);
      origin = `${url.protocol}//${url.host}`;
    } catch {
      origin = "invalid-url";
    }
    if (origins.size < 10_000) origins.set(apiBase, origin);
  }
  return origin;
}

function abortableSleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
