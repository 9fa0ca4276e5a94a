/**
 * LiteLLM's Prometheus metric names and labels (docs.litellm.ai/docs/proxy/prometheus and LiteLLM's
 * `PrometheusMetricLabels`), so a Grafana dashboard built on the LiteLLM proxy works unchanged.
 * Counter names carry the `_total` suffix Python's prometheus_client adds (the dashboards query
 * `litellm_proxy_total_requests_metric_total`). Selected with `prometheus_metric_names: litellm | both`.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { LabelGuard } from "./label-guard";

/** LiteLLM's LATENCY_BUCKETS (seconds). */
export const LITELLM_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5,
  7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0, 180.0, 240.0, 300.0,
];

const WHO = ["end_user", "hashed_api_key", "api_key_alias", "team", "team_alias", "user"] as const;
const DEPLOYMENT = ["litellm_model_name", "model_id", "api_base", "api_provider"] as const;

/** Label names per metric, in LiteLLM's order. */
export const LITELLM_LABELS = {
  litellm_proxy_total_requests_metric: [...WHO, "requested_model", "status_code"],
  litellm_proxy_failed_requests_metric: [...WHO, "requested_model", "exception_status", "exception_class"],
  litellm_requests_metric: [...WHO, "model"],
  litellm_spend_metric: [...WHO, "model"],
  litellm_total_tokens_metric: [...WHO, "model", "requested_model"],
  litellm_input_tokens_metric: [...WHO, "model", "requested_model"],
  litellm_output_tokens_metric: [...WHO, "model", "requested_model"],
  litellm_request_total_latency_metric: [...WHO, "requested_model", "model"],
  litellm_overhead_latency_metric: [...WHO, "requested_model", "model"],
  litellm_llm_api_latency_metric: [...WHO, "requested_model", "model"],
  litellm_llm_api_time_to_first_token_metric: [
    "model",
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
  ],
  litellm_deployment_success_responses: [
    "requested_model",
    ...DEPLOYMENT,
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
  ],
  litellm_deployment_failure_responses: [
    "requested_model",
    ...DEPLOYMENT,
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
    "exception_status",
    "exception_class",
  ],
  litellm_deployment_total_requests: [
    "requested_model",
    ...DEPLOYMENT,
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
  ],
  litellm_deployment_latency_per_output_token: [
    ...DEPLOYMENT,
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
  ],
  litellm_deployment_state: [...DEPLOYMENT],
  litellm_deployment_cooled_down: [...DEPLOYMENT, "exception_status"],
  litellm_deployment_successful_fallbacks: [
    "requested_model",
    "fallback_model",
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
    "exception_status",
    "exception_class",
  ],
  litellm_deployment_failed_fallbacks: [
    "requested_model",
    "fallback_model",
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
    "exception_status",
    "exception_class",
  ],
  litellm_remaining_requests_metric: [
    "model_group",
    "api_provider",
    "api_base",
    "litellm_model_name",
    "hashed_api_key",
    "api_key_alias",
    "model_id",
  ],
  litellm_remaining_tokens_metric: [
    "model_group",
    "api_provider",
    "api_base",
    "litellm_model_name",
    "hashed_api_key",
    "api_key_alias",
    "model_id",
  ],
  // The names LiteLLM's published Grafana dashboard (cookbook dashboard_v2) still queries; LiteLLM
  // itself renamed them with the _metric suffix. Both are exported, with the same labels and values.
  litellm_remaining_requests: [
    "model_group",
    "api_provider",
    "api_base",
    "litellm_model_name",
    "hashed_api_key",
    "api_key_alias",
    "model_id",
  ],
  litellm_remaining_tokens: [
    "model_group",
    "api_provider",
    "api_base",
    "litellm_model_name",
    "hashed_api_key",
    "api_key_alias",
    "model_id",
  ],
  litellm_remaining_team_budget_metric: ["team", "team_alias"],
  litellm_team_max_budget_metric: ["team", "team_alias"],
  litellm_team_budget_remaining_hours_metric: ["team", "team_alias"],
  litellm_remaining_api_key_budget_metric: ["hashed_api_key", "api_key_alias"],
  litellm_api_key_max_budget_metric: ["hashed_api_key", "api_key_alias"],
  litellm_api_key_budget_remaining_hours_metric: ["hashed_api_key", "api_key_alias"],
  litellm_remaining_api_key_requests_for_model: ["hashed_api_key", "api_key_alias", "model"],
  litellm_remaining_api_key_tokens_for_model: ["hashed_api_key", "api_key_alias", "model"],
} as const satisfies Record<string, readonly string[]>;

type Name = keyof typeof LITELLM_LABELS;

/** The instruments, registered once per registry (a second plugin on the same registry shares them). */
export class LitellmMetrics {
  readonly guards: {
    requestedModel: LabelGuard;
    user: LabelGuard;
    endUser: LabelGuard;
    key: LabelGuard;
    team: LabelGuard;
  };
  readonly proxyTotalRequests: Counter<string>;
  readonly proxyFailedRequests: Counter<string>;
  readonly requests: Counter<string>;
  readonly spend: Counter<string>;
  readonly totalTokens: Counter<string>;
  readonly inputTokens: Counter<string>;
  readonly outputTokens: Counter<string>;
  readonly requestTotalLatency: Histogram<string>;
  readonly overheadLatency: Histogram<string>;
  readonly llmApiLatency: Histogram<string>;
  readonly timeToFirstToken: Histogram<string>;
  readonly deploymentSuccess: Counter<string>;
  readonly deploymentFailure: Counter<string>;
  readonly deploymentTotal: Counter<string>;
  readonly latencyPerOutputToken: Histogram<string>;
  readonly deploymentState: Gauge<string>;
  readonly cooledDown: Counter<string>;
  readonly successfulFallbacks: Counter<string>;
  readonly failedFallbacks: Counter<string>;
  readonly remainingRequests: Gauge<string>;
  readonly remainingTokens: Gauge<string>;
  readonly remainingRequestsLegacy: Gauge<string>;
  readonly remainingTokensLegacy: Gauge<string>;
  readonly remainingTeamBudget: Gauge<string>;
  readonly teamMaxBudget: Gauge<string>;
  readonly teamBudgetRemainingHours: Gauge<string>;
  readonly remainingKeyBudget: Gauge<string>;
  readonly keyMaxBudget: Gauge<string>;
  readonly keyBudgetRemainingHours: Gauge<string>;
  readonly remainingKeyRequestsForModel: Gauge<string>;
  readonly remainingKeyTokensForModel: Gauge<string>;
  /** deployment id -> model and api_base, learned from attempts and state changes (cooldown labels). */
  readonly deploymentModels = new Map<string, string>();
  readonly deploymentApiBases = new Map<string, string>();
  /** Budget reset times, read at scrape time for the remaining-hours gauges. */
  readonly teamResets = new Map<string, { labels: Record<string, string>; resetAt: number }>();
  readonly keyResets = new Map<string, { labels: Record<string, string>; resetAt: number }>();

  constructor(registry: Registry, maxLabelValues: number) {
    this.guards = {
      requestedModel: new LabelGuard(maxLabelValues),
      user: new LabelGuard(maxLabelValues),
      endUser: new LabelGuard(maxLabelValues),
      key: new LabelGuard(maxLabelValues),
      team: new LabelGuard(maxLabelValues),
    };
    const counter = (name: Name, help: string) =>
      new Counter({
        name: `${name}_total`,
        help,
        labelNames: [...LITELLM_LABELS[name]],
        registers: [registry],
      });
    const histogram = (name: Name, help: string) =>
      new Histogram({
        name,
        help,
        labelNames: [...LITELLM_LABELS[name]],
        buckets: [...LITELLM_LATENCY_BUCKETS],
        registers: [registry],
      });
    const gauge = (name: Name, help: string, collect?: () => void) =>
      new Gauge({
        name,
        help,
        labelNames: [...LITELLM_LABELS[name]],
        registers: [registry],
        ...(collect ? { collect } : {}),
      });

    this.proxyTotalRequests = counter(
      "litellm_proxy_total_requests_metric",
      "Total number of requests made to the proxy server (client side), success and failure",
    );
    this.proxyFailedRequests = counter(
      "litellm_proxy_failed_requests_metric",
      "Total number of failed responses from the proxy (the client did not get a success response)",
    );
    this.requests = counter("litellm_requests_metric", "Total number of LLM calls to litellm");
    this.spend = counter("litellm_spend_metric", "Total spend on LLM requests (USD)");
    this.totalTokens = counter("litellm_total_tokens_metric", "Total number of input + output tokens");
    this.inputTokens = counter("litellm_input_tokens_metric", "Total number of input tokens");
    this.outputTokens = counter("litellm_output_tokens_metric", "Total number of output tokens");
    this.requestTotalLatency = histogram(
      "litellm_request_total_latency_metric",
      "Total latency (seconds) for a request to the proxy",
    );
    this.overheadLatency = histogram(
      "litellm_overhead_latency_metric",
      "Latency overhead (seconds) added by the proxy",
    );
    this.llmApiLatency = histogram(
      "litellm_llm_api_latency_metric",
      "Total latency (seconds) for the LLM API call",
    );
    this.timeToFirstToken = histogram(
      "litellm_llm_api_time_to_first_token_metric",
      "Time to first token for a streamed LLM API call (seconds)",
    );
    this.deploymentSuccess = counter(
      "litellm_deployment_success_responses",
      "LLM deployment success responses",
    );
    this.deploymentFailure = counter(
      "litellm_deployment_failure_responses",
      "LLM deployment failure responses (exception status and class)",
    );
    this.deploymentTotal = counter(
      "litellm_deployment_total_requests",
      "LLM deployment total requests, success and failure",
    );
    this.latencyPerOutputToken = histogram(
      "litellm_deployment_latency_per_output_token",
      "Latency per output token (seconds)",
    );
    this.deploymentState = gauge(
      "litellm_deployment_state",
      "The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage",
    );
    this.cooledDown = counter(
      "litellm_deployment_cooled_down",
      "Number of times a deployment has been cooled down by the load balancing logic",
    );
    this.successfulFallbacks = counter(
      "litellm_deployment_successful_fallbacks",
      "Number of successful fallback requests from primary model -> fallback model",
    );
    this.failedFallbacks = counter(
      "litellm_deployment_failed_fallbacks",
      "Number of failed fallback requests from primary model -> fallback model",
    );
    this.remainingRequests = gauge(
      "litellm_remaining_requests_metric",
      "Remaining requests for the model group, from the deployment's x-ratelimit-remaining-requests (or Anthropic's) header",
    );
    this.remainingTokens = gauge(
      "litellm_remaining_tokens_metric",
      "Remaining tokens for the model group, from the deployment's x-ratelimit-remaining-tokens (or Anthropic's) header",
    );
    this.remainingRequestsLegacy = gauge(
      "litellm_remaining_requests",
      "Same as litellm_remaining_requests_metric (the name LiteLLM's published dashboard queries)",
    );
    this.remainingTokensLegacy = gauge(
      "litellm_remaining_tokens",
      "Same as litellm_remaining_tokens_metric (the name LiteLLM's published dashboard queries)",
    );
    this.remainingTeamBudget = gauge("litellm_remaining_team_budget_metric", "Remaining budget for team");
    this.teamMaxBudget = gauge("litellm_team_max_budget_metric", "Maximum budget set for team");
    const teamHours = () => this.refreshHours(this.teamResets, this.teamBudgetRemainingHours);
    this.teamBudgetRemainingHours = gauge(
      "litellm_team_budget_remaining_hours_metric",
      "Remaining hours for team budget to be reset",
      teamHours,
    );
    this.remainingKeyBudget = gauge(
      "litellm_remaining_api_key_budget_metric",
      "Remaining budget for api key",
    );
    this.keyMaxBudget = gauge("litellm_api_key_max_budget_metric", "Maximum budget set for api key");
    const keyHours = () => this.refreshHours(this.keyResets, this.keyBudgetRemainingHours);
    this.keyBudgetRemainingHours = gauge(
      "litellm_api_key_budget_remaining_hours_metric",
      "Remaining hours for api key budget to be reset",
      keyHours,
    );
    this.remainingKeyRequestsForModel = gauge(
      "litellm_remaining_api_key_requests_for_model",
      "Remaining requests api key can make for model (model-specific rpm limit)",
    );
    this.remainingKeyTokensForModel = gauge(
      "litellm_remaining_api_key_tokens_for_model",
      "Remaining tokens api key can use for model (model-specific tpm limit)",
    );
  }

  learn(deploymentId: string, model: string | undefined, apiBase: string | undefined): void {
    if (this.deploymentModels.size >= 10_000) return;
    if (model) this.deploymentModels.set(deploymentId, model);
    if (apiBase) this.deploymentApiBases.set(deploymentId, apiBase);
  }

  private refreshHours(
    resets: Map<string, { labels: Record<string, string>; resetAt: number }>,
    target: Gauge<string> | undefined,
  ): void {
    if (!target) return;
    const now = Date.now();
    for (const { labels, resetAt } of resets.values())
      target.set(labels, Math.max(0, (resetAt - now) / 3_600_000));
  }
}

const instances = new WeakMap<Registry, LitellmMetrics>();

/** The LiteLLM-named instruments of a registry, created on first use. */
export function litellmMetricsFor(registry: Registry, maxLabelValues: number): LitellmMetrics {
  let metrics = instances.get(registry);
  if (!metrics) {
    metrics = new LitellmMetrics(registry, maxLabelValues);
    instances.set(registry, metrics);
  }
  return metrics;
}
