/**
 * Call events → LiteLLM-named metrics. Who made the call comes from the call context as the
 * control plane fills it in LiteLLM's metadata names (user_api_key_hash, user_api_key_alias,
 * user_api_key_team_id, user_api_key_team_alias, user_api_key_user_id), the event's `team`, and its
 * `user` (LiteLLM's end user, the body's `user`). Missing values are "" (an absent label).
 */
import type {
  AttemptEvent,
  AttemptRecord,
  CallbackSink,
  CallError,
  CallEvent,
  CooldownEvent,
  DeploymentRateLimits,
  DeploymentState,
  ErrorKind,
} from "@llmux/callbacks";
import type { LitellmMetrics } from "./litellm-metrics";
import { type CallLabelValues, type LitellmCallSeries, LitellmSeries } from "./litellm-series";
import type { BudgetMetrics, KeyBudget, TeamBudget } from "./types";

/** LiteLLM's exception class names (litellm.exceptions) per llmux error kind. */
const EXCEPTION_CLASS: Record<ErrorKind, string> = {
  bad_request: "BadRequestError",
  authentication: "AuthenticationError",
  permission_denied: "PermissionDeniedError",
  not_found: "NotFoundError",
  request_too_large: "BadRequestError",
  context_window_exceeded: "ContextWindowExceededError",
  content_policy: "ContentPolicyViolationError",
  rate_limit: "RateLimitError",
  timeout: "Timeout",
  connection: "APIConnectionError",
  server_error: "InternalServerError",
  unavailable: "ServiceUnavailableError",
  aborted: "ClientDisconnectedError",
  internal: "InternalServerError",
};

/** Values that look like a credential never become a label. */
const SECRET_LIKE = /^(sk|pk|rk|sess|key)[-_]|^bearer\s|^eyJ/i;

function text(value: unknown): string {
  if (typeof value !== "string" || value === "") return "";
  return SECRET_LIKE.test(value) || value.length > 128 ? "__redacted__" : value;
}

function seconds(milliseconds: number | undefined): number | undefined {
  if (milliseconds === undefined || !Number.isFinite(milliseconds) || milliseconds < 0) return undefined;
  return milliseconds / 1000;
}

/**
 * A reset time as the metadata gives it (epoch milliseconds or a date string). The last string is
 * kept with its time: a key's (or team's) reset date is the same on every call until it resets, and
 * Date.parse was most of the budget metadata's cost per call.
 */
function resetTimeReader(): (value: unknown) => number | undefined {
  let lastText: string | undefined;
  let lastTime = Number.NaN;
  return (value) => {
    if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
    if (typeof value !== "string") return undefined;
    if (value !== lastText) {
      lastText = value;
      lastTime = Date.parse(value);
    }
    return Number.isFinite(lastTime) ? lastTime : undefined;
  };
}

const keyResetTime = resetTimeReader();
const teamResetTime = resetTimeReader();

/**
 * The remaining-budget gauges from a call's metadata, as LiteLLM sets them after each call: the
 * control plane puts the key's and team's spend before the call and their budgets there
 * (user_api_key_spend, user_api_key_max_budget, user_api_key_budget_reset_at, and the user_api_key_team_
 * ones); this call's cost is added. No budget: remaining +Inf (LiteLLM's value too).
 */
export function applyBudgetMetadata(budgets: BudgetMetrics, event: CallEvent): void {
  const metadata = event.metadata ?? {};
  const cost = event.cost?.total ?? 0;
  const hashedKey = metadata.user_api_key_hash;
  if (typeof hashedKey === "string" && typeof metadata.user_api_key_spend === "number") {
    const budget: KeyBudget = { hashedKey: text(hashedKey) };
    const alias = text(metadata.user_api_key_alias);
    if (alias) budget.keyAlias = alias;
    const spend = metadata.user_api_key_spend + cost;
    const max = metadata.user_api_key_max_budget;
    if (typeof max === "number") {
      budget.maxBudget = max;
      budget.spend = spend;
    } else budget.remaining = Number.POSITIVE_INFINITY;
    const reset = keyResetTime(metadata.user_api_key_budget_reset_at);
    if (reset !== undefined) budget.resetAt = reset;
    budgets.setKeyBudget(budget);
  }
  const teamId = event.team ?? metadata.user_api_key_team_id;
  if (typeof teamId === "string" && typeof metadata.user_api_key_team_spend === "number") {
    const budget: TeamBudget = { teamId: text(teamId) };
    const alias = text(metadata.user_api_key_team_alias);
    if (alias) budget.teamAlias = alias;
    const spend = metadata.user_api_key_team_spend + cost;
    const max = metadata.user_api_key_team_max_budget;
    if (typeof max === "number") {
      budget.maxBudget = max;
      budget.spend = spend;
    } else budget.remaining = Number.POSITIVE_INFINITY;
    const reset = teamResetTime(metadata.user_api_key_team_budget_reset_at);
    if (reset !== undefined) budget.resetAt = reset;
    budgets.setTeamBudget(budget);
  }
}

export interface LitellmMetricsSinkOptions {
  /** Label sets bound at most per kind of binding (litellm-series.ts); tests lower it. */
  maxBoundLabelSets?: number;
}

/** The attempt that served the call: the last one to its deployment, else the last one. */
function servedAttempt(event: CallEvent, attempts: readonly AttemptRecord[]): AttemptRecord | undefined {
  for (let index = attempts.length - 1; index >= 0; index--) {
    const attempt = attempts[index]!;
    if (attempt.deploymentId === event.deploymentId) return attempt;
  }
  return attempts[attempts.length - 1];
}

function exceptionStatus(error: CallError | undefined): string {
  return error ? String(error.upstreamStatus ?? error.status) : "";
}

export function createLitellmMetricsSink(
  metrics: LitellmMetrics,
  budgets?: BudgetMetrics,
  options: LitellmMetricsSinkOptions = {},
): CallbackSink {
  const { guards } = metrics;
  // Label objects and prom-client series bound once per label set (litellm-series.ts).
  const series = new LitellmSeries(metrics, options.maxBoundLabelSets);

  /** A call's label values; the guards see the values in the order the label objects listed them. */
  const callValues = (
    event: CallEvent,
    served: AttemptRecord | undefined,
    success: boolean,
  ): CallLabelValues => {
    const metadata = event.metadata ?? {};
    return {
      end_user: guards.endUser.value(text(event.user ?? metadata.user_api_key_end_user_id)),
      hashed_api_key: guards.key.value(text(metadata.user_api_key_hash ?? metadata.hashed_api_key)),
      api_key_alias: text(metadata.user_api_key_alias ?? metadata.key_alias ?? metadata.api_key_alias),
      team: guards.team.value(text(event.team ?? metadata.user_api_key_team_id)),
      team_alias: text(metadata.user_api_key_team_alias ?? metadata.team_alias),
      user: guards.user.value(text(metadata.user_api_key_user_id)),
      requested_model: guards.requestedModel.value(event.requestedModel || event.modelGroup),
      model: served?.model ?? event.responseModel ?? "",
      status_code: success ? "200" : String(event.error?.status ?? 500),
      exception_class: !success && event.error ? EXCEPTION_CLASS[event.error.type] : "",
      success,
    };
  };

  const end = (
    event: CallEvent,
    attempts: readonly AttemptRecord[],
    served: AttemptRecord | undefined,
    values: CallLabelValues,
    call: LitellmCallSeries,
  ): void => {
    const success = values.success;
    call.totalRequests(1);
    if (!success) call.failedRequests(1);
    const total = seconds(event.timings?.durationMs);
    if (total !== undefined) call.totalLatency(total);

    // Fallbacks: the call moved to another group; it succeeded or failed there (rare: not bound).
    if (event.fallbacks > 0) {
      const firstFailure = attempts.find((attempt) => attempt.outcome === "failure")?.error;
      const labels = {
        requested_model: values.requested_model,
        fallback_model: guards.requestedModel.value(served?.modelGroup ?? event.modelGroup),
        hashed_api_key: values.hashed_api_key,
        api_key_alias: values.api_key_alias,
        team: values.team,
        team_alias: values.team_alias,
        exception_status: exceptionStatus(firstFailure),
        exception_class: firstFailure ? EXCEPTION_CLASS[firstFailure.type] : "",
      };
      (success ? metrics.successfulFallbacks : metrics.failedFallbacks).inc(labels);
    }
    if (!success || !served) return;

    call.requests(1);
    const overhead = seconds(event.timings?.overheadMs);
    if (overhead !== undefined) call.overheadLatency(overhead);
    const api = seconds(served.latencyMs);
    if (api !== undefined) call.apiLatency(api);
    const ttft = event.stream ? seconds(event.timings?.ttftMs) : undefined;
    if (ttft !== undefined) call.timeToFirstToken(ttft);

    const usage = event.usage;
    if (usage) {
      if (Number.isFinite(usage.inputTokens) && usage.inputTokens >= 0) call.inputTokens(usage.inputTokens);
      if (Number.isFinite(usage.outputTokens) && usage.outputTokens >= 0)
        call.outputTokens(usage.outputTokens);
      if (Number.isFinite(usage.totalTokens) && usage.totalTokens >= 0) call.totalTokens(usage.totalTokens);
      if (api !== undefined && usage.outputTokens > 0)
        series.attempt(call, served).latencyPerOutputToken(api / usage.outputTokens);
    }
    const cost = event.cost?.total;
    if (cost !== undefined && Number.isFinite(cost) && cost >= 0) call.spend(cost);

    // Per-deployment outcomes of this call (attempts carry no caller, so they are counted here).
    for (const attempt of attempts) {
      if (attempt.outcome === "aborted") continue;
      const deployment = series.attempt(call, attempt);
      deployment.total(1);
      if (attempt.outcome === "success") deployment.success(1);
    }
  };

  // A failed call still counts its deployment attempts.
  const failedAttempts = (attempts: readonly AttemptRecord[], call: LitellmCallSeries): void => {
    for (const attempt of attempts) {
      if (attempt.outcome === "aborted") continue;
      series.attempt(call, attempt).total(1);
    }
  };

  const failureResponses = (attempts: readonly AttemptRecord[], call: LitellmCallSeries): void => {
    for (const attempt of attempts) {
      if (attempt.outcome !== "failure") continue;
      const error = attempt.error;
      series.failure(
        series.attempt(call, attempt),
        exceptionStatus(error),
        error ? EXCEPTION_CLASS[error.type] : "",
      )(1);
    }
  };

  return {
    name: "prometheus-litellm",
    only: "all",
    onSuccess(event: CallEvent): void {
      // count_tokens is no model call (LiteLLM's proxy does not count it either): no request, no tokens
      if (event.callType === "count_tokens") return;
      const attempts = event.attempts ?? [];
      const served = servedAttempt(event, attempts);
      const values = callValues(event, served, event.status === "success");
      const call = series.call(values);
      end(event, attempts, served, values, call);
      failureResponses(attempts, call);
      if (budgets) applyBudgetMetadata(budgets, event);
    },
    onFailure(event: CallEvent): void {
      if (event.callType === "count_tokens") return;
      const attempts = event.attempts ?? [];
      const served = servedAttempt(event, attempts);
      const values = callValues(event, served, event.status === "success");
      const call = series.call(values);
      end(event, attempts, served, values, call);
      if (budgets) applyBudgetMetadata(budgets, event);
      failedAttempts(attempts, call);
      failureResponses(attempts, call);
    },
    onAttempt(event: AttemptEvent): void {
      metrics.learn(event.deploymentId, event.model, event.apiBase);
      if (event.outcome === "aborted") return;
      // 0 healthy after a success; 1 partial outage after a failure (2 comes with a cooldown).
      series.state(event)(event.outcome === "success" ? 0 : 1);
    },
    onCooldown(event: CooldownEvent): void {
      const labels = {
        litellm_model_name: `${event.provider}/${metrics.deploymentModels.get(event.deploymentId) ?? ""}`,
        model_id: event.deploymentId,
        api_base: metrics.deploymentApiBases.get(event.deploymentId) ?? "",
        api_provider: event.provider,
      };
      metrics.cooledDown.inc({ ...labels, exception_status: event.reason === "rate_limit" ? "429" : "" });
      metrics.deploymentState.set(labels, 2);
    },
  };
}

/**
 * A deployment's remaining upstream rate limits (LiteLLM's litellm_remaining_requests_metric /
 * litellm_remaining_tokens_metric). The limits belong to the deployment's upstream account, not to a
 * caller: the key labels stay "" (LiteLLM fills them with the key of the call that saw the headers).
 */
export function applyLitellmRateLimits(metrics: LitellmMetrics, limits: DeploymentRateLimits): void {
  metrics.learn(limits.deploymentId, limits.model, limits.apiBase);
  const labels = {
    model_group: limits.modelGroup,
    api_provider: limits.provider,
    api_base: limits.apiBase ?? "",
    litellm_model_name: `${limits.provider}/${limits.model}`,
    hashed_api_key: "",
    api_key_alias: "",
    model_id: limits.deploymentId,
  };
  if (limits.remainingRequests !== undefined) {
    metrics.remainingRequests.set(labels, limits.remainingRequests);
    metrics.remainingRequestsLegacy.set(labels, limits.remainingRequests);
  }
  if (limits.remainingTokens !== undefined) {
    metrics.remainingTokens.set(labels, limits.remainingTokens);
    metrics.remainingTokensLegacy.set(labels, limits.remainingTokens);
  }
}

/** Records what the router says about a deployment (healthy: 0, cooling: 2). */
export function applyLitellmDeploymentState(metrics: LitellmMetrics, state: DeploymentState): void {
  metrics.learn(state.deploymentId, state.model, undefined);
  metrics.deploymentState.set(
    {
      litellm_model_name: `${state.provider ?? ""}/${state.model ?? metrics.deploymentModels.get(state.deploymentId) ?? ""}`,
      model_id: state.deploymentId,
      api_base: metrics.deploymentApiBases.get(state.deploymentId) ?? "",
      api_provider: state.provider ?? "",
    },
    state.state === "cooling" ? 2 : 0,
  );
}
