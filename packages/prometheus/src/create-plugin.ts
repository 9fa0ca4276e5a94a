/**
 * `createPlugin`: what the gateway calls when `litellm_settings.callbacks` names "prometheus".
 * Options come from `litellm_settings` keys (prefixed `prometheus_`) and the environment.
 */
import type { PluginFactory, PluginFactoryContext } from "@llmux/callbacks";
import type { Registry } from "prom-client";
import { prometheusError } from "./errors";
import { prometheusPlugin } from "./prometheus-plugin";
import type { PrometheusPlugin, PrometheusPluginOptions } from "./types";

function resolveEnvironmentReference(value: string, context: PluginFactoryContext, key: string): string {
  if (!value.startsWith("os.environ/")) return value;
  const name = value.slice("os.environ/".length);
  const resolved = context.env[name];
  if (resolved === undefined || resolved === "") {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      `@llmux/prometheus: litellm_settings.${key} reads the environment variable ${name}, which is not set`,
    );
  }
  return resolved;
}

function readBoolean(context: PluginFactoryContext, key: string): boolean | undefined {
  const value = context.settings[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false|1|0|yes|no)$/i.test(value))
    return /^(true|1|yes)$/i.test(value);
  if (typeof value === "number" && (value === 0 || value === 1)) return value === 1;
  throw prometheusError(
    "llmux.prometheus.invalid_option",
    `@llmux/prometheus: litellm_settings.${key} must be true or false (got ${JSON.stringify(value)})`,
  );
}

function readString(context: PluginFactoryContext, key: string): string | undefined {
  const value = context.settings[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      `@llmux/prometheus: litellm_settings.${key} must be a string`,
    );
  }
  return resolveEnvironmentReference(value, context, key);
}

function readPositiveInteger(context: PluginFactoryContext, key: string): number | undefined {
  const value = context.settings[key];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < 1) {
    throw prometheusError(
      "llmux.prometheus.invalid_option",
      `@llmux/prometheus: litellm_settings.${key} must be a positive integer (got ${JSON.stringify(value)})`,
    );
  }
  return number;
}

/**
 * Plugin options from a factory context:
 *
 * | litellm_settings key | environment | option |
 * | --- | --- | --- |
 * | `prometheus_prefix` | | `prefix` |
 * | `prometheus_user_labels` | | `userLabels` |
 * | `prometheus_team_labels` | | `teamLabels` |
 * | `prometheus_key_labels` | | `keyLabels` |
 * | `prometheus_max_label_values` | | `maxLabelValues` |
 * | `prometheus_process_metrics` | | `processMetrics` |
 * | `prometheus_metrics_token` | `LLMUX_METRICS_TOKEN` | `metricsAuth.bearerToken` |
 * | `require_auth_for_metrics_endpoint` | `LLMUX_MASTER_KEY` | true: bearer token = master key (LiteLLM's key); false: `"none"` (open) |
 * | `prometheus_registry` (a Registry object, TypeScript config only) | | `registry` |
 * | `prometheus_metric_names` (`llmux`, `litellm`, `both`) | | `metricNames` |
 */
export function optionsFromContext(context: PluginFactoryContext): PrometheusPluginOptions {
  const options: PrometheusPluginOptions = {};
  const prefix = readString(context, "prometheus_prefix");
  if (prefix !== undefined) options.prefix = prefix;
  const userLabels = readBoolean(context, "prometheus_user_labels");
  if (userLabels !== undefined) options.userLabels = userLabels;
  const teamLabels = readBoolean(context, "prometheus_team_labels");
  if (teamLabels !== undefined) options.teamLabels = teamLabels;
  const keyLabels = readBoolean(context, "prometheus_key_labels");
  if (keyLabels !== undefined) options.keyLabels = keyLabels;
  const maxLabelValues = readPositiveInteger(context, "prometheus_max_label_values");
  if (maxLabelValues !== undefined) options.maxLabelValues = maxLabelValues;
  const processMetrics = readBoolean(context, "prometheus_process_metrics");
  if (processMetrics !== undefined) options.processMetrics = processMetrics;

  const metricNames = readString(context, "prometheus_metric_names");
  if (metricNames !== undefined) {
    if (metricNames !== "llmux" && metricNames !== "litellm" && metricNames !== "both") {
      throw prometheusError(
        "llmux.prometheus.invalid_option",
        `@llmux/prometheus: litellm_settings.prometheus_metric_names must be llmux, litellm or both (got ${JSON.stringify(metricNames)})`,
      );
    }
    options.metricNames = metricNames;
  }

  const registry = context.settings["prometheus_registry"];
  if (registry !== undefined && registry !== null) options.registry = registry as Registry;

  let token = readString(context, "prometheus_metrics_token") ?? context.env["LLMUX_METRICS_TOKEN"];
  if ((token === undefined || token === "") && readBoolean(context, "require_auth_for_metrics_endpoint")) {
    token = context.env["LLMUX_MASTER_KEY"];
    if (token === undefined || token === "") {
      throw prometheusError(
        "llmux.prometheus.invalid_option",
        "@llmux/prometheus: litellm_settings.require_auth_for_metrics_endpoint is true but neither " +
          "LLMUX_METRICS_TOKEN, prometheus_metrics_token nor LLMUX_MASTER_KEY is set",
      );
    }
  }
  if (token !== undefined && token !== "") options.metricsAuth = { bearerToken: token };
  // The explicit opt-out: without a token, /metrics otherwise needs the gateway's master key.
  else if (readBoolean(context, "require_auth_for_metrics_endpoint") === false) options.metricsAuth = "none";
  return options;
}

/** The `prometheus_*` keys of litellm_settings this package reads; others are named in a warning. */
export const PROMETHEUS_SETTINGS = [
  "prometheus_prefix",
  "prometheus_user_labels",
  "prometheus_team_labels",
  "prometheus_key_labels",
  "prometheus_max_label_values",
  "prometheus_process_metrics",
  "prometheus_metrics_token",
  "prometheus_registry",
  "prometheus_metric_names",
];

export const createPlugin: PluginFactory = (name, context): PrometheusPlugin => {
  for (const key of Object.keys(context.settings)) {
    if (key.startsWith("prometheus_") && !PROMETHEUS_SETTINGS.includes(key))
      context.logger.warn(
        `llmux config: 'litellm_settings.${key}' is not used by @llmux/prometheus (it reads ${PROMETHEUS_SETTINGS.join(", ")})`,
      );
  }
  const options = optionsFromContext(context);
  const plugin = prometheusPlugin(options);
  // Never log the token itself.
  context.logger.debug("prometheus plugin ready", {
    callback: name,
    prefix: options.prefix ?? "llmux_",
    userLabels: options.userLabels === true,
    teamLabels: options.teamLabels === true,
    keyLabels: options.keyLabels === true,
    metricNames: options.metricNames ?? "llmux",
    metricsAuth: options.metricsAuth !== undefined,
  });
  return plugin;
};
