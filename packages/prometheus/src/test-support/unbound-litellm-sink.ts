/**
 * Test-only reference: the LiteLLM-named sink as it was before its series were bound
 * (litellm-series.ts), building a label object per observation and handing it to prom-client. The
 * bound sink's exposition is compared with this one's for the same events.
 */
import type {
  AttemptEvent,
  AttemptRecord,
  CallbackSink,
  CallEvent,
  CooldownEvent,
  ErrorKind,
} from "@llmux/callbacks";
import type { LitellmMetrics } from "../litellm-metrics";
import type { BudgetMetrics, KeyBudget, TeamBudget } from "../types";

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

type Who = Record<"end_user" | "hashed_api_key" | "api_key_alias" | "team" | "team_alias" | "user", string>;

/**
 * The remaining-budget gauges from a call's metadata, as LiteLLM sets them after each call: the
 * control plane puts the key's and team's spend before the call and their budgets there
 * (user_api_key_spend, user_api_key_max_budget, user_api_key_budget_reset_at, and the user_api_key_team_
 * ones); this call's cost is added. No budget: remaining +Inf (LiteLLM's value too).
 */
function applyBudgetMetadata(budgets: BudgetMetrics, event: CallEvent): void {
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
    const reset = resetTime(metadata.user_api_key_budget_reset_at);
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
    const reset = resetTime(metadata.user_api_key_team_budget_reset_at);
    if (reset !== undefined) budget.resetAt = reset;
    budgets.setTeamBudget(budget);
  }
}

function resetTime(value: unknown): number | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const time = typeof value === "number" ? value : Date.parse(value);
  return Number.isFinite(time) ? time : undefined;
}

export function createUnboundLitellmSink(metrics: LitellmMetrics, budgets?: BudgetMetrics): CallbackSink {
  const { guards } = metrics;

  const who = (event: CallEvent): Who => {
    const metadata = event.metadata ?? {};
    return {
      end_user: guards.endUser.value(text(event.user ?? metadata.user_api_key_end_user_id)),
      hashed_api_key: guards.key.value(text(metadata.user_api_key_hash ?? metadata.hashed_api_key)),
      api_key_alias: text(metadata.user_api_key_alias ?? metadata.key_alias ?? metadata.api_key_alias),
      team: guards.team.value(text(event.team ?? metadata.user_api_key_team_id)),
      team_alias: text(metadata.user_api_key_team_alias ?? metadata.team_alias),
      user: guards.user.value(text(metadata.user_api_key_user_id)),
    };
  };

  const deployment = (attempt: Pick<AttemptRecord, "provider" | "model" | "deploymentId" | "apiBase">) => ({
    litellm_model_name: `${attempt.provider}/${attempt.model}`,
    model_id: attempt.deploymentId,
    api_base: attempt.apiBase ?? "",
    api_provider: attempt.provider,
  });

  const end = (event: CallEvent): void => {
    const person = who(event);
    const requested = guards.requestedModel.value(event.requestedModel || event.modelGroup);
    const attempts = event.attempts ?? [];
    const served =
      [...attempts].reverse().find((attempt) => attempt.deploymentId === event.deploymentId) ??
      attempts.at(-1);
    const model = served?.model ?? event.responseModel ?? "";
    const success = event.status === "success";
    const status = success ? "200" : String(event.error?.status ?? 500);

    metrics.proxyTotalRequests.inc({ ...person, requested_model: requested, status_code: status });
    if (!success) {
      metrics.proxyFailedRequests.inc({
        ...person,
        requested_model: requested,
        exception_status: status,
        exception_class: event.error ? EXCEPTION_CLASS[event.error.type] : "",
      });
    }
    const total = seconds(event.timings?.durationMs);
    if (total !== undefined)
      metrics.requestTotalLatency.observe({ ...person, requested_model: requested, model }, total);

    // Fallbacks: the call moved to another group; it succeeded or failed there.
    if (event.fallbacks > 0) {
      const firstFailure = attempts.find((attempt) => attempt.outcome === "failure")?.error;
      const labels = {
        requested_model: requested,
        fallback_model: guards.requestedModel.value(served?.modelGroup ?? event.modelGroup),
        hashed_api_key: person.hashed_api_key,
        api_key_alias: person.api_key_alias,
        team: person.team,
        team_alias: person.team_alias,
        exception_status: firstFailure ? String(firstFailure.upstreamStatus ?? firstFailure.status) : "",
        exception_class: firstFailure ? EXCEPTION_CLASS[firstFailure.type] : "",
      };
      (success ? metrics.successfulFallbacks : metrics.failedFallbacks).inc(labels);
    }
    if (!success || !served) return;

    metrics.requests.inc({ ...person, model });
    const overhead = seconds(event.timings?.overheadMs);
    if (overhead !== undefined)
      metrics.overheadLatency.observe({ ...person, requested_model: requested, model }, overhead);
    const api = seconds(served.latencyMs);
    if (api !== undefined)
      metrics.llmApiLatency.observe({ ...person, requested_model: requested, model }, api);
    const ttft = event.stream ? seconds(event.timings?.ttftMs) : undefined;
    const keyTeam = {
      hashed_api_key: person.hashed_api_key,
      api_key_alias: person.api_key_alias,
      team: person.team,
      team_alias: person.team_alias,
    };
    if (ttft !== undefined) metrics.timeToFirstToken.observe({ model, ...keyTeam }, ttft);

    const usage = event.usage;
    if (usage) {
      const labels = { ...person, model, requested_model: requested };
      if (Number.isFinite(usage.inputTokens) && usage.inputTokens >= 0)
        metrics.inputTokens.inc(labels, usage.inputTokens);
      if (Number.isFinite(usage.outputTokens) && usage.outputTokens >= 0)
        metrics.outputTokens.inc(labels, usage.outputTokens);
      if (Number.isFinite(usage.totalTokens) && usage.totalTokens >= 0)
        metrics.totalTokens.inc(labels, usage.totalTokens);
      if (api !== undefined && usage.outputTokens > 0)
        metrics.latencyPerOutputToken.observe(
          { ...deployment(served), ...keyTeam },
          api / usage.outputTokens,
        );
    }
    const cost = event.cost?.total;
    if (cost !== undefined && Number.isFinite(cost) && cost >= 0)
      metrics.spend.inc({ ...person, model }, cost);

    // Per-deployment outcomes of this call (attempts carry no caller, so they are counted here).
    for (const attempt of attempts) {
      if (attempt.outcome === "aborted") continue;
      const labels = { requested_model: requested, ...deployment(attempt), ...keyTeam };
      metrics.deploymentTotal.inc(labels);
      if (attempt.outcome === "success") metrics.deploymentSuccess.inc(labels);
    }
  };

  const failedAttempts = (event: CallEvent): void => {
    // A failed call still counts its deployment attempts.
    const person = who(event);
    const requested = guards.requestedModel.value(event.requestedModel || event.modelGroup);
    const keyTeam = {
      hashed_api_key: person.hashed_api_key,
      api_key_alias: person.api_key_alias,
      team: person.team,
      team_alias: person.team_alias,
    };
    for (const attempt of event.attempts ?? []) {
      if (attempt.outcome === "aborted") continue;
      metrics.deploymentTotal.inc({ requested_model: requested, ...deployment(attempt), ...keyTeam });
    }
  };

  const failureResponses = (event: CallEvent): void => {
    const person = who(event);
    const requested = guards.requestedModel.value(event.requestedModel || event.modelGroup);
    for (const attempt of event.attempts ?? []) {
      if (attempt.outcome !== "failure") continue;
      const error = attempt.error;
      metrics.deploymentFailure.inc({
        requested_model: requested,
        ...deployment(attempt),
        hashed_api_key: person.hashed_api_key,
        api_key_alias: person.api_key_alias,
        team: person.team,
        team_alias: person.team_alias,
        exception_status: error ? String(error.upstreamStatus ?? error.status) : "",
        exception_class: error ? EXCEPTION_CLASS[error.type] : "",
      });
    }
  };

  return {
    name: "prometheus-litellm",
    only: "all",
    onSuccess(event: CallEvent): void {
      // count_tokens is no model call (LiteLLM's proxy does not count it either): no request, no tokens
      if (event.callType === "count_tokens") return;
      end(event);
      failureResponses(event);
      if (budgets) applyBudgetMetadata(budgets, event);
    },
    onFailure(event: CallEvent): void {
      if (event.callType === "count_tokens") return;
      end(event);
      if (budgets) applyBudgetMetadata(budgets, event);
      failedAttempts(event);
      failureResponses(event);
    },
    onAttempt(event: AttemptEvent): void {
      metrics.learn(event.deploymentId, event.model, event.apiBase);
      if (event.outcome === "aborted") return;
      // 0 healthy after a success; 1 partial outage after a failure (2 comes with a cooldown).
      metrics.deploymentState.set(deployment(event), event.outcome === "success" ? 0 : 1);
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
