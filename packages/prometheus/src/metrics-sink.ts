/**
 * The callback sink: turns lifecycle events into metric updates. It runs off the request path
 * (the callback engine calls it from the sink's bounded queue) and does only in-memory work.
 */
import type {
  AttemptEvent,
  AttemptRecord,
  CallbackSink,
  CallEvent,
  CallStartEvent,
  CooldownEvent,
  DeploymentState,
  FallbackEvent,
} from "@llmux/callbacks";
import { BoundSeriesCache, type CounterChild, type Observer, observerOf } from "./bound-series";
import type { LlmuxMetrics } from "./llmux-metrics";
import { bindingKey } from "./series-key";

/** Key labels that look like credentials are never exported. */
const SECRET_LIKE = /^(sk|pk|rk|sess|key)[-_]|^bearer\s|^eyJ/i;
export const REDACTED_LABEL_VALUE = "__redacted__";

function defaultKeyLabel(event: CallEvent): string | undefined {
  const metadata = event.metadata ?? {};
  for (const name of ["key_alias", "user_api_key_alias", "api_key_alias"]) {
    const value = metadata[name];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

function safeKeyLabel(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (SECRET_LIKE.test(value) || value.length > 128) return REDACTED_LABEL_VALUE;
  return value;
}

function seconds(milliseconds: number | undefined): number | undefined {
  if (milliseconds === undefined || !Number.isFinite(milliseconds) || milliseconds < 0) return undefined;
  return milliseconds / 1000;
}

function attemptStatusCode(attempt: AttemptRecord): string {
  if (attempt.outcome === "success") return "200";
  const status = attempt.error?.upstreamStatus ?? attempt.error?.status;
  return status === undefined ? "unknown" : String(status);
}

/** Label sets bound at most (each of calls and attempts); past it the bindings start afresh. */
const MAX_BOUND_LABEL_SETS = 10_000;

/** The token types of `tokens_total`, in the order of CallSeries.tokens. */
const TOKEN_TYPES = ["input", "output", "cached_input", "cache_creation", "reasoning"] as const;

interface CallLabelValues {
  model_group: string;
  model: string;
  provider: string;
  deployment: string;
  status_code: string;
  user: string;
  team: string;
  key: string;
}

/** What one call updates, bound for one label set. */
interface CallSeries {
  requests: CounterChild;
  requestDuration: Observer;
  overheadDuration: Observer;
  timeToFirstToken: Observer;
  cacheHits: CounterChild;
  cacheMisses: CounterChild;
  cacheSavedCost: CounterChild;
  /** tokens_total by type (TOKEN_TYPES order). */
  tokens: CounterChild[];
  inputTokensPerRequest: Observer;
  outputTokensPerRequest: Observer;
  cost: CounterChild;
}

/** prom-client creates a histogram's series on its first observation: bind the child then. */
function lazyObserver(create: () => Observer): Observer {
  let observe: Observer | undefined;
  return (value) => {
    observe ??= create();
    observe(value);
  };
}

function newCallSeries(metrics: LlmuxMetrics, values: CallLabelValues): CallSeries {
  const base = {
    model_group: values.model_group,
    model: values.model,
    provider: values.provider,
    deployment: values.deployment,
  };
  const withStatus = { ...base, status_code: values.status_code };
  // the opt-in labels, guarded once when the series was bound (as withOptInLabels did per call)
  const who = (labels: Record<string, string>): Record<string, string> => {
    if (metrics.config.userLabels) labels["user"] = values.user;
    if (metrics.config.teamLabels) labels["team"] = values.team;
    if (metrics.config.keyLabels) labels["key"] = values.key;
    return labels;
  };
  const deferred = metrics.deferred;
  return {
    requests: deferred.requests.child(who({ ...withStatus })),
    requestDuration: lazyObserver(() => observerOf(metrics.requestDuration, withStatus)),
    overheadDuration: lazyObserver(() => observerOf(metrics.overheadDuration, withStatus)),
    timeToFirstToken: lazyObserver(() => observerOf(metrics.timeToFirstToken, base)),
    cacheHits: deferred.cacheHits.child(base),
    cacheMisses: deferred.cacheMisses.child(base),
    cacheSavedCost: deferred.cacheSavedCost.child(base),
    tokens: TOKEN_TYPES.map((type) => deferred.tokens.child(who({ ...base, type }))),
    inputTokensPerRequest: lazyObserver(() =>
      observerOf(metrics.tokensPerRequest, { ...base, type: "input" }),
    ),
    outputTokensPerRequest: lazyObserver(() =>
      observerOf(metrics.tokensPerRequest, { ...base, type: "output" }),
    ),
    cost: deferred.cost.child(who({ ...base })),
  };
}

function countTokens(child: CounterChild | undefined, value: number): void {
  if (child !== undefined && Number.isFinite(value) && value >= 0) child.inc(value);
}

export interface MetricsSinkOptions {
  resolveKeyLabel?: (event: CallEvent) => string | undefined;
}

export function createMetricsSink(metrics: LlmuxMetrics, options: MetricsSinkOptions = {}): CallbackSink {
  const resolveKey = options.resolveKeyLabel ?? defaultKeyLabel;

  const deploymentLabels = (
    modelGroup: string,
    deploymentId: string | undefined,
    provider: string | undefined,
    model: string | undefined,
  ): Record<string, string> => ({
    model_group: metrics.guards.modelGroup.value(modelGroup),
    model: model ?? (deploymentId === undefined ? "" : (metrics.deploymentModels.get(deploymentId) ?? "")),
    provider: provider ?? "",
    deployment: deploymentId ?? "",
  });

  const learnModel = (deploymentId: string | undefined, model: string | undefined): void => {
    if (deploymentId === undefined || model === undefined || model === "") return;
    if (metrics.deploymentModels.get(deploymentId) === model) return;
    if (metrics.deploymentModels.size >= 10_000) return;
    metrics.deploymentModels.set(deploymentId, model);
  };

  // One bound series per label set (bound-series.ts): label objects and prom-client children
  // built once, counter increments summed in memory until the next scrape.
  const optIn = metrics.config.userLabels || metrics.config.teamLabels || metrics.config.keyLabels;
  // The last label set of each cache and its series: consecutive calls mostly share one, which is
  // then found by comparing the values, without building the key and hashing it.
  let lastCall: { values: CallLabelValues; series: CallSeries } | undefined;
  let lastAttempt: { values: string[]; observe: Observer } | undefined;
  const calls = new BoundSeriesCache<CallSeries>(MAX_BOUND_LABEL_SETS, () => {
    metrics.flushDeferred();
    lastCall = undefined;
  });
  const attemptSeries = new BoundSeriesCache<Observer>(MAX_BOUND_LABEL_SETS, () => {
    lastAttempt = undefined;
  });

  const callSeriesOf = (values: CallLabelValues): CallSeries => {
    const last = lastCall;
    if (
      last !== undefined &&
      last.values.model_group === values.model_group &&
      last.values.model === values.model &&
      last.values.provider === values.provider &&
      last.values.deployment === values.deployment &&
      last.values.status_code === values.status_code &&
      last.values.user === values.user &&
      last.values.team === values.team &&
      last.values.key === values.key
    )
      return last.series;
    const series = calls.get(
      bindingKey(
        values.model_group,
        values.model,
        values.provider,
        values.deployment,
        values.status_code,
        values.user,
        values.team,
        values.key,
      ),
      () => newCallSeries(metrics, values),
    );
    lastCall = { values, series };
    return series;
  };

  const attemptObserverOf = (
    modelGroup: string,
    model: string,
    provider: string,
    deployment: string,
    statusCode: string,
  ): Observer => {
    const last = lastAttempt;
    if (
      last !== undefined &&
      last.values[0] === modelGroup &&
      last.values[1] === model &&
      last.values[2] === provider &&
      last.values[3] === deployment &&
      last.values[4] === statusCode
    )
      return last.observe;
    const observe = attemptSeries.get(bindingKey(modelGroup, model, provider, deployment, statusCode), () =>
      observerOf(metrics.upstreamDuration, {
        model_group: modelGroup,
        model,
        provider,
        deployment,
        status_code: statusCode,
      }),
    );
    lastAttempt = { values: [modelGroup, model, provider, deployment, statusCode], observe };
    return observe;
  };

  const end = (event: CallEvent): void => {
    metrics.inFlightCalls.end(event.callId);

    const attempts = event.attempts ?? [];
    let final: AttemptRecord | undefined;
    for (const attempt of attempts) {
      learnModel(attempt.deploymentId, attempt.model);
      if (attempt.deploymentId === event.deploymentId) final = attempt;
    }
    final ??= attempts[attempts.length - 1];
    const deploymentId = event.deploymentId ?? final?.deploymentId;
    const modelGroup = metrics.guards.modelGroup.value(event.modelGroup);
    const model =
      final?.model ??
      event.responseModel ??
      (deploymentId === undefined ? "" : (metrics.deploymentModels.get(deploymentId) ?? ""));
    const provider = event.provider ?? final?.provider ?? "";
    const deployment = deploymentId ?? "";
    const statusCode =
      event.status === "success" ? "200" : event.error ? String(event.error.status) : "unknown";
    let user = "";
    let team = "";
    let key = "";
    if (optIn) {
      if (metrics.config.userLabels) user = metrics.guards.user.value(event.user);
      if (metrics.config.teamLabels) team = metrics.guards.team.value(event.team);
      if (metrics.config.keyLabels)
        key = metrics.guards.key.value(safeKeyLabel(resolveKey(event)) ?? undefined);
    }
    const series = callSeriesOf({
      model_group: modelGroup,
      model,
      provider,
      deployment,
      status_code: statusCode,
      user,
      team,
      key,
    });

    series.requests.inc();

    const timings = event.timings;
    const duration = seconds(timings?.durationMs);
    if (duration !== undefined) series.requestDuration(duration);
    const overhead = seconds(timings?.overheadMs);
    if (overhead !== undefined) series.overheadDuration(overhead);
    const ttft = event.stream ? seconds(timings?.ttftMs) : undefined;
    if (ttft !== undefined) series.timeToFirstToken(ttft);

    if (event.cacheHit !== undefined) {
      (event.cacheHit ? series.cacheHits : series.cacheMisses).inc();
      const saved = event.cacheSavedCost;
      if (event.cacheHit && saved !== undefined && Number.isFinite(saved) && saved >= 0)
        series.cacheSavedCost.inc(saved);
    }

    // a cache hit sent no tokens to any provider: its usage is the cached call's, not counted again
    const usage = event.cacheHit ? null : event.usage;
    if (usage) {
      const tokens = series.tokens;
      countTokens(tokens[0], usage.inputTokens);
      countTokens(tokens[1], usage.outputTokens);
      countTokens(tokens[2], usage.cachedInputTokens);
      countTokens(tokens[3], usage.cacheCreationInputTokens);
      countTokens(tokens[4], usage.reasoningTokens);
      if (Number.isFinite(usage.inputTokens) && usage.inputTokens >= 0) {
        series.inputTokensPerRequest(usage.inputTokens);
      }
      if (Number.isFinite(usage.outputTokens) && usage.outputTokens >= 0) {
        series.outputTokensPerRequest(usage.outputTokens);
      }
    }

    const total = event.cost?.total;
    if (total !== undefined && Number.isFinite(total) && total >= 0) series.cost.inc(total);

    // A retry is an attempt that follows a failed attempt of the same model group in this call;
    // it is counted against the deployment that failed and its status.
    for (let index = 1; index < attempts.length; index += 1) {
      const previous = attempts[index - 1]!;
      const current = attempts[index]!;
      if (previous.modelGroup !== current.modelGroup) continue;
      metrics.retries.inc({
        ...deploymentLabels(previous.modelGroup, previous.deploymentId, previous.provider, previous.model),
        status_code: attemptStatusCode(previous),
      });
    }
  };

  const sink: CallbackSink = {
    name: "prometheus",
    only: "all",
    onStart(event: CallStartEvent): void {
      metrics.inFlightCalls.start(
        event.callId,
        metrics.guards.modelGroup.value(event.modelGroup),
        Number.isFinite(event.startTime) ? event.startTime : Date.now(),
      );
    },
    onSuccess: end,
    onFailure: end,
    onAttempt(event: AttemptEvent): void {
      learnModel(event.deploymentId, event.model);
      const latency = seconds(event.latencyMs);
      if (latency === undefined) return;
      const modelGroup = metrics.guards.modelGroup.value(event.modelGroup);
      const deploymentId = event.deploymentId;
      const model =
        event.model ?? (deploymentId === undefined ? "" : (metrics.deploymentModels.get(deploymentId) ?? ""));
      const provider = event.provider ?? "";
      const deployment = deploymentId ?? "";
      const statusCode = attemptStatusCode(event);
      const observe = attemptObserverOf(modelGroup, model, provider, deployment, statusCode);
      observe(latency);
    },
    onFallback(event: FallbackEvent): void {
      metrics.fallbacks.inc({
        model_group: metrics.guards.modelGroup.value(event.fromGroup),
        fallback_model_group: metrics.guards.modelGroup.value(event.toGroup),
        reason: event.reason,
      });
    },
    onCooldown(event: CooldownEvent): void {
      const labels = deploymentLabels(event.modelGroup, event.deploymentId, event.provider, undefined);
      metrics.cooldowns.inc({ ...labels, reason: event.reason });
      metrics.deploymentStates.set(
        {
          model_group: labels["model_group"]!,
          model: labels["model"]!,
          provider: labels["provider"]!,
          deployment: labels["deployment"]!,
        },
        true,
        event.until,
      );
    },
  };
  return sink;
}

/** Applies a router state change to `llmux_deployment_state`. */
export function applyDeploymentState(metrics: LlmuxMetrics, state: DeploymentState): void {
  if (state.model) metrics.deploymentModels.set(state.deploymentId, state.model);
  metrics.deploymentStates.set(
    {
      model_group: metrics.guards.modelGroup.value(state.modelGroup),
      model: state.model ?? metrics.deploymentModels.get(state.deploymentId) ?? "",
      provider: state.provider ?? "",
      deployment: state.deploymentId,
    },
    state.state === "cooling",
    state.until,
  );
}
