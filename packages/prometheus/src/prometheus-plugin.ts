/** `prometheusPlugin(options)`: the llmux plugin that exports call metrics through prom-client. */
import type {
  DeploymentRateLimits,
  DeploymentState,
  EngineStatsSource,
  PluginRoute,
  SharedStateStatsSource,
} from "@llmux/callbacks";
import { collectDefaultMetrics, Registry } from "prom-client";
import { createBudgetMetrics } from "./budget-metrics";
import { combineSinks } from "./combine-sinks";
import { prometheusError } from "./errors";
import { litellmMetricsFor } from "./litellm-metrics";
import {
  applyLitellmDeploymentState,
  applyLitellmRateLimits,
  createLitellmMetricsSink,
} from "./litellm-metrics-sink";
import { llmuxMetricsFor } from "./llmux-metrics";
import { createMetricsHandler } from "./metrics-handler";
import { applyDeploymentState, createMetricsSink } from "./metrics-sink";
import type { MetricNames, PrometheusPlugin, PrometheusPluginOptions } from "./types";

const METRIC_NAMES: readonly MetricNames[] = ["llmux", "litellm", "both"];

const METRIC_NAME_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function isRegistryLike(value: unknown): value is Registry {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Registry).registerMetric === "function" &&
    typeof (value as Registry).metrics === "function" &&
    typeof (value as Registry).getSingleMetric === "function"
  );
}

export function prometheusPlugin(options: PrometheusPluginOptions = {}): PrometheusPlugin {
  const prefix = options.prefix ?? "llmux_";
  if (!METRIC_NAME_PREFIX.test(prefix)) {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      `@llmux/prometheus: prefix "${prefix}" is not a valid metric name start ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
    );
  }
  const maxLabelValues = options.maxLabelValues ?? 1000;
  if (!Number.isInteger(maxLabelValues) || maxLabelValues < 1) {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      `@llmux/prometheus: maxLabelValues must be a positive integer (got ${String(options.maxLabelValues)})`,
    );
  }
  const staleAfterSeconds = options.inFlightStaleAfterSeconds ?? 900;
  if (!(staleAfterSeconds > 0)) {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      `@llmux/prometheus: inFlightStaleAfterSeconds must be > 0 (got ${String(options.inFlightStaleAfterSeconds)})`,
    );
  }
  if (options.registry !== undefined && !isRegistryLike(options.registry)) {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      "@llmux/prometheus: registry must be a prom-client Registry",
    );
  }
  const metricNames = options.metricNames ?? "llmux";
  if (!METRIC_NAMES.includes(metricNames)) {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      `@llmux/prometheus: metricNames must be one of ${METRIC_NAMES.join(", ")} (got ${JSON.stringify(options.metricNames)})`,
    );
  }
  const registry = options.registry ?? new Registry();
  const litellm = metricNames === "llmux" ? undefined : litellmMetricsFor(registry, maxLabelValues);

  const metrics = llmuxMetricsFor(metricNames === "litellm" ? new Registry() : registry, {
    prefix,
    userLabels: options.userLabels === true,
    teamLabels: options.teamLabels === true,
    keyLabels: options.keyLabels === true,
    maxLabelValues,
    inFlightStaleAfterMs: staleAfterSeconds * 1000,
  });

  if (options.processMetrics === true && !metrics.processMetricsCollected) {
    metrics.processMetricsCollected = true;
    // Skip when the host already collects them into this registry.
    if (registry.getSingleMetric("process_cpu_user_seconds_total") === undefined) {
      collectDefaultMetrics({ register: registry });
    }
  }

  const llmuxSink =
    metricNames === "litellm"
      ? undefined
      : createMetricsSink(
          metrics,
          options.resolveKeyLabel === undefined ? {} : { resolveKeyLabel: options.resolveKeyLabel },
        );
  const budgets = createBudgetMetrics(litellm);
  const litellmSink = litellm ? createLitellmMetricsSink(litellm, budgets) : undefined;
  const sink = combineSinks(llmuxSink, litellmSink);
  const metricsHandler = createMetricsHandler(registry, options.metricsAuth);
  const routes: PluginRoute[] = [
    {
      method: "GET",
      path: "/metrics",
      // The gateway checks the master key (admin) unless the plugin has its own check or opted out.
      auth: options.metricsAuth === undefined || options.metricsAuth === "gateway" ? "admin" : "public",
      root: true,
      handle: (request, response) => metricsHandler(request, response),
    },
  ];

  return {
    name: "prometheus",
    sink,
    routes,
    registry,
    metricsHandler,
    observeEngine(engine: EngineStatsSource): void {
      // Kept after shutdown too, so the counters stay monotonic (final values, never a reset).
      metrics.engines.add(engine);
    },
    observeSharedState(source: SharedStateStatsSource): void {
      metrics.sharedStates.add(source);
    },
    budgets,
    metricNames,
    onDeploymentRateLimits(limits: DeploymentRateLimits): void {
      if (litellm) applyLitellmRateLimits(litellm, limits);
    },
    onDeploymentState(state: DeploymentState): void {
      if (llmuxSink) applyDeploymentState(metrics, state);
      if (litellm) applyLitellmDeploymentState(litellm, state);
    },
    async flush(): Promise<void> {
      // Metrics are updated synchronously as events arrive: nothing is buffered here.
    },
    async shutdown(): Promise<void> {
      // Nothing to release: the metrics stay readable until the registry is dropped.
    },
  };
}
