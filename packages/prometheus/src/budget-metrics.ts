/**
 * The remaining-budget gauges of LiteLLM's metric set, fed by whoever owns keys and teams (the control
 * plane): `plugin.budgets.setKeyBudget(...)` after each spend update. No-ops unless the LiteLLM names
 * are exported (`prometheus_metric_names: litellm | both`).
 */
import type { Gauge } from "prom-client";
import { type Setter, setterOf } from "./bound-gauge";
import { BoundSeriesCache } from "./bound-series";
import type { LitellmMetrics } from "./litellm-metrics";
import { MAX_BOUND_LABEL_SETS } from "./litellm-series";
import { bindingKey } from "./series-key";
import type { BudgetMetrics, KeyBudget, KeyModelLimits, TeamBudget } from "./types";

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

/** The max and remaining gauges of one key or team label set, bound once (bound-gauge.ts). */
interface BudgetSeries {
  /** The id (hashed key or team id) and alias as given. */
  id: string;
  alias: string;
  labels: Record<string, string>;
  max: Setter;
  remaining: Setter;
}

/**
 * Budget series by id and alias, bound as the per-call series are (litellm-series.ts): the call's
 * budget metadata sets the same key's and team's gauges on every call. The last one is found again
 * by comparing the values; the others by their key (bindingKey).
 */
class BudgetSeriesCache {
  readonly #series = new BoundSeriesCache<BudgetSeries>(MAX_BOUND_LABEL_SETS, () => undefined);
  #last: BudgetSeries | undefined;

  /** `idLabel` and `aliasLabel` name the labels; `field` names the id in the error for a raw-looking key. */
  constructor(
    private readonly max: Gauge<string>,
    private readonly remaining: Gauge<string>,
    private readonly idLabel: string,
    private readonly aliasLabel: string,
    private readonly field: string,
  ) {}

  get(id: string, alias: string): BudgetSeries {
    const last = this.#last;
    if (last !== undefined && last.id === id && last.alias === alias) return last;
    const series = this.#series.get(bindingKey(id, alias), () => this.create(id, alias));
    this.#last = series;
    return series;
  }

  /** The label object is checked (labelValue throws for a raw-looking key) and bound once. */
  private create(id: string, alias: string): BudgetSeries {
    const labels = { [this.idLabel]: labelValue(id, this.field), [this.aliasLabel]: alias };
    return {
      id,
      alias,
      labels,
      max: setterOf(this.max, labels),
      remaining: setterOf(this.remaining, labels),
    };
  }
}

/** Where a budget's reset time is kept for the remaining-hours gauge: one entry per id, updated in place. */
function keepReset(
  resets: Map<string, { labels: Record<string, string>; resetAt: number }>,
  id: string,
  labels: Record<string, string>,
  resetAt: number,
): void {
  const entry = resets.get(id);
  if (entry !== undefined && entry.labels === labels) entry.resetAt = resetAt;
  else resets.set(id, { labels, resetAt });
}

export function createBudgetMetrics(metrics: LitellmMetrics | undefined): BudgetMetrics {
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
  const teams = new BudgetSeriesCache(
    metrics.teamMaxBudget,
    metrics.remainingTeamBudget,
    "team",
    "team_alias",
    "teamId",
  );
  const keys = new BudgetSeriesCache(
    metrics.keyMaxBudget,
    metrics.remainingKeyBudget,
    "hashed_api_key",
    "api_key_alias",
    "hashedKey",
  );
  return {
    enabled: true,
    setTeamBudget(budget: TeamBudget): void {
      const series = teams.get(budget.teamId, budget.teamAlias ?? "");
      if (budget.maxBudget !== undefined) series.max(budget.maxBudget);
      const remaining =
        budget.remaining ??
        (budget.maxBudget !== undefined && budget.spend !== undefined
          ? budget.maxBudget - budget.spend
          : undefined);
      if (remaining !== undefined) series.remaining(remaining);
      const reset = resetTime(budget.resetAt);
      if (reset !== undefined) keepReset(metrics.teamResets, budget.teamId, series.labels, reset);
    },
    setKeyBudget(budget: KeyBudget): void {
      const series = keys.get(budget.hashedKey, budget.keyAlias ?? "");
      if (budget.maxBudget !== undefined) series.max(budget.maxBudget);
      const remaining =
        budget.remaining ??
        (budget.maxBudget !== undefined && budget.spend !== undefined
          ? budget.maxBudget - budget.spend
          : undefined);
      if (remaining !== undefined) series.remaining(remaining);
      const reset = resetTime(budget.resetAt);
      if (reset !== undefined) keepReset(metrics.keyResets, budget.hashedKey, series.labels, reset);
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
