/**
 * Test-only reference: the budget gauges as they were before their series were bound
 * (budget-metrics.ts), a label object built and handed to prom-client per set.
 */
import type { LitellmMetrics } from "../litellm-metrics";
import type { BudgetMetrics, KeyBudget, KeyModelLimits, TeamBudget } from "../types";

const SECRET_LIKE = /^(sk|pk|rk|sess|key)[-_]|^bearer\s|^eyJ/i;

/** A hashed key or id as a label; something that looks like a raw key is refused (never exported). */
function labelValue(value: string | undefined, what: string): string {
  if (value === undefined) return "";
  if (SECRET_LIKE.test(value))
    throw new Error(`@llmux/prometheus: ${what} looks like a raw API key; pass its hash`);
  return value;
}

function resetTime(value: Date | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = value instanceof Date ? value.getTime() : value;
  return Number.isFinite(time) ? time : undefined;
}

export function createUnboundBudgetMetrics(metrics: LitellmMetrics | undefined): BudgetMetrics {
  if (!metrics) {
    const none = () => undefined;
    return {
      enabled: false,
      setTeamBudget: none,
      setKeyBudget: none,
      setKeyModelLimits: none,
      removeTeam: none,
      removeKey: none,
    };
  }
  return {
    enabled: true,
    setTeamBudget(budget: TeamBudget): void {
      const labels = { team: labelValue(budget.teamId, "teamId"), team_alias: budget.teamAlias ?? "" };
      if (budget.maxBudget !== undefined) metrics.teamMaxBudget.set(labels, budget.maxBudget);
      const remaining =
        budget.remaining ??
        (budget.maxBudget !== undefined && budget.spend !== undefined
          ? budget.maxBudget - budget.spend
          : undefined);
      if (remaining !== undefined) metrics.remainingTeamBudget.set(labels, remaining);
      const reset = resetTime(budget.resetAt);
      if (reset !== undefined) metrics.teamResets.set(budget.teamId, { labels, resetAt: reset });
    },
    setKeyBudget(budget: KeyBudget): void {
      const labels = {
        hashed_api_key: labelValue(budget.hashedKey, "hashedKey"),
        api_key_alias: budget.keyAlias ?? "",
      };
      if (budget.maxBudget !== undefined) metrics.keyMaxBudget.set(labels, budget.maxBudget);
      const remaining =
        budget.remaining ??
        (budget.maxBudget !== undefined && budget.spend !== undefined
          ? budget.maxBudget - budget.spend
          : undefined);
      if (remaining !== undefined) metrics.remainingKeyBudget.set(labels, remaining);
      const reset = resetTime(budget.resetAt);
      if (reset !== undefined) metrics.keyResets.set(budget.hashedKey, { labels, resetAt: reset });
    },
    setKeyModelLimits(limits: KeyModelLimits): void {
      const labels = {
        hashed_api_key: labelValue(limits.hashedKey, "hashedKey"),
        api_key_alias: limits.keyAlias ?? "",
        model: limits.model,
      };
      if (limits.remainingRequests !== undefined)
        metrics.remainingKeyRequestsForModel.set(labels, limits.remainingRequests);
      if (limits.remainingTokens !== undefined)
        metrics.remainingKeyTokensForModel.set(labels, limits.remainingTokens);
    },
    removeTeam(teamId: string, teamAlias = ""): void {
      const labels = { team: teamId, team_alias: teamAlias };
      metrics.teamMaxBudget.remove(labels);
      metrics.remainingTeamBudget.remove(labels);
      metrics.teamBudgetRemainingHours.remove(labels);
      metrics.teamResets.delete(teamId);
    },
    removeKey(hashedKey: string, keyAlias = ""): void {
      const labels = { hashed_api_key: hashedKey, api_key_alias: keyAlias };
      metrics.keyMaxBudget.remove(labels);
      metrics.remainingKeyBudget.remove(labels);
      metrics.keyBudgetRemainingHours.remove(labels);
      metrics.keyResets.delete(hashedKey);
    },
  };
}
