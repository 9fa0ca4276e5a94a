/** Public types of @llmux/prometheus. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type {
  CallbackSink,
  CallEvent,
  DeploymentState,
  EngineStatsSource,
  LlmuxPlugin,
  PluginRoute,
} from "@llmux/callbacks";
import type { Registry } from "prom-client";

/** Decides whether a scrape of `/metrics` may proceed. */
export type MetricsAuthCheck = (request: IncomingMessage) => boolean | Promise<boolean>;

/**
 * `{ bearerToken }` requires `Authorization: Bearer <token>`; a function decides itself; "gateway"
 * (the default) leaves the check to the gateway's route table (the master key once one is set);
 * "none" opts out explicitly (a scraper inside a private network).
 */
export type MetricsAuth = { bearerToken?: string } | MetricsAuthCheck | "gateway" | "none";

export interface PrometheusPluginOptions {
  /**
   * The prom-client registry to register the llmux metrics in. Pass the host's registry (for example
   * prom-client's global `register`) so one `/metrics` endpoint shows the host's and llmux's metrics.
   * Default: a new registry owned by the plugin.
   */
  registry?: Registry;
  /** Metric name prefix. Default "llmux_". */
  prefix?: string;
  /** Add a `user` label to the request, token and cost counters (opt-in: cardinality). */
  userLabels?: boolean;
  /** Add a `team` label to the request, token and cost counters (opt-in: cardinality). */
  teamLabels?: boolean;
  /** Add a `key` label (an API key alias, never the key) to the request, token and cost counters. */
  keyLabels?: boolean;
  /**
   * Distinct values kept per guarded label (user, team, key and model_group); later new values are
   * reported as "__other__". Default 1000.
   */
  maxLabelValues?: number;
  /** Where the `key` label value comes from. Default: metadata `key_alias`, then `user_api_key_alias`. */
  resolveKeyLabel?: (event: CallEvent) => string | undefined;
  /** Also collect prom-client's default process and Node.js metrics into the registry. Default false. */
  processMetrics?: boolean;
  /**
   * Protect `/metrics`. Default "gateway": the gateway's route serves it as an admin route, so once
   * a master key is set a scrape needs it (no master key and no authorize hook = open). A token or
   * a function replaces that with its own check; "none" opts out. `metricsHandler` mounted by the
   * host itself applies only a token or function check.
   */
  metricsAuth?: MetricsAuth;
  /**
   * Seconds after which a call that started but whose end event never arrived stops counting as in
   * flight (the end event was dropped). Default 900.
   */
  inFlightStaleAfterSeconds?: number;
  /**
   * Which metric names to export: "llmux" (default, `llmux_*`), "litellm" (LiteLLM's names and labels,
   * so a LiteLLM Grafana dashboard works unchanged) or "both". Config: `prometheus_metric_names`.
   */
  metricNames?: MetricNames;
}

export type MetricNames = "llmux" | "litellm" | "both";

/** A team's budget, for LiteLLM's team budget gauges. */
export interface TeamBudget {
  teamId: string;
  teamAlias?: string;
  maxBudget?: number;
  /** Spend so far; with maxBudget gives the remaining budget when `remaining` is not given. */
  spend?: number;
  remaining?: number;
  /** When the budget resets (for `litellm_team_budget_remaining_hours_metric`). */
  resetAt?: Date | number;
}

/** A virtual key's budget; `hashedKey` is the key's hash (never the key: a raw-looking key throws). */
export interface KeyBudget {
  hashedKey: string;
  keyAlias?: string;
  maxBudget?: number;
  spend?: number;
  remaining?: number;
  resetAt?: Date | number;
}

/** What a key may still send to one model this minute (model-specific rpm/tpm limits). */
export interface KeyModelLimits {
  hashedKey: string;
  keyAlias?: string;
  model: string;
  remainingRequests?: number;
  remainingTokens?: number;
}

/**
 * Sets LiteLLM's remaining-budget gauges (`litellm_remaining_team_budget_metric`,
 * `litellm_remaining_api_key_budget_metric`, ...). The control plane calls it when budgets or spend
 * change. Without the LiteLLM names (`metricNames: "llmux"`) every method does nothing (`enabled` false).
 */
export interface BudgetMetrics {
  readonly enabled: boolean;
  setTeamBudget(budget: TeamBudget): void;
  setKeyBudget(budget: KeyBudget): void;
  setKeyModelLimits(limits: KeyModelLimits): void;
  removeTeam(teamId: string, teamAlias?: string): void;
  removeKey(hashedKey: string, keyAlias?: string): void;
}

export interface PrometheusPlugin extends LlmuxPlugin {
  readonly name: "prometheus";
  /** The callback sink that turns call events into metrics, off the request path. */
  readonly sink: CallbackSink;
  /** `GET /metrics`, relative to where the gateway is mounted. */
  readonly routes: PluginRoute[];
  /** The registry the metrics live in (the one passed in, or the plugin's own). */
  readonly registry: Registry;
  /** Serves the registry in the Prometheus text format; usable as a plain Node/Express handler. */
  metricsHandler(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Report the engine's per-sink drops, errors and queue depth at scrape time. */
  observeEngine(engine: EngineStatsSource): void;
  /** LiteLLM's budget gauges, for the control plane (no-ops unless the LiteLLM names are exported). */
  readonly budgets: BudgetMetrics;
  /** The metric names exported. */
  readonly metricNames: MetricNames;
  /** Sets `llmux_deployment_state` (0 healthy, 1 cooling) and `litellm_deployment_state` (0, 2). */
  onDeploymentState(state: DeploymentState): void;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}
