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
import type { LlmuxMetrics } from "./llmux-metrics";

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

  const end = (event: CallEvent): void => {
    metrics.inFlightCalls.end(event.callId);

    const attempts = event.attempts ?? [];
    for (const attempt of attempts) learnModel(attempt.deploymentId, attempt.model);
    const final =
      [...attempts].reverse().find((attempt) => attempt.deploymentId === event.deploymentId) ??
      attempts[attempts.length - 1];
    const model = final?.model ?? event.responseModel;
    const base = deploymentLabels(
      event.modelGroup,
      event.deploymentId ?? final?.deploymentId,
      event.provider ?? final?.provider,
      model,
    );
    const statusCode =
      event.status === "success" ? "200" : event.error ? String(event.error.status) : "unknown";
    const who = {
      ...(event.user === undefined ? {} : { user: event.user }),
      ...(event.team === undefined ? {} : { team: event.team }),
    } as { user?: string; team?: string; key?: string };
    if (metrics.config.keyLabels) {
      const key = safeKeyLabel(resolveKey(event));
      if (key !== undefined) who.key = key;
    }

    metrics.requests.inc(metrics.withOptInLabels({ ...base, status_code: statusCode }, who));

    const timings = event.timings;
    const duration = seconds(timings?.durationMs);
    if (duration !== undefined)
      metrics.requestDuration.observe({ ...base, status_code: statusCode }, duration);
    const overhead = seconds(timings?.overheadMs);
    if (overhead !== undefined)
      metrics.overheadDuration.observe({ ...base, status_code: statusCode }, overhead);
    const ttft = event.stream ? seconds(timings?.ttftMs) : undefined;
    if (ttft !== undefined) metrics.timeToFirstToken.observe(base, ttft);

    if (event.cacheHit !== undefined) {
      (event.cacheHit ? metrics.cacheHits : metrics.cacheMisses).inc(base);
      const saved = event.cacheSavedCost;
      if (event.cacheHit && saved !== undefined && Number.isFinite(saved) && saved >= 0)
        metrics.cacheSavedCost.inc(base, saved);
    }

    // a cache hit sent no tokens to any provider: its usage is the cached call's, not counted again
    const usage = event.cacheHit ? null : event.usage;
    if (usage) {
      const counts: Array<[string, number]> = [
        ["input", usage.inputTokens],
        ["output", usage.outputTokens],
        ["cached_input", usage.cachedInputTokens],
        ["cache_creation", usage.cacheCreationInputTokens],
        ["reasoning", usage.reasoningTokens],
      ];
      for (const [type, value] of counts) {
        if (!Number.isFinite(value) || value < 0) continue;
        metrics.tokens.inc(metrics.withOptInLabels({ ...base, type }, who), value);
      }
      if (Number.isFinite(usage.inputTokens) && usage.inputTokens >= 0) {
        metrics.tokensPerRequest.observe({ ...base, type: "input" }, usage.inputTokens);
      }
      if (Number.isFinite(usage.outputTokens) && usage.outputTokens >= 0) {
        metrics.tokensPerRequest.observe({ ...base, type: "output" }, usage.outputTokens);
      }
    }

    const total = event.cost?.total;
    if (total !== undefined && Number.isFinite(total) && total >= 0) {
      metrics.cost.inc(metrics.withOptInLabels({ ...base }, who), total);
    }

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
      metrics.upstreamDuration.observe(
        {
          ...deploymentLabels(event.modelGroup, event.deploymentId, event.provider, event.model),
          status_code: attemptStatusCode(event),
        },
        latency,
      );
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
