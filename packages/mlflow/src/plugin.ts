/**
 * createPlugin: what the gateway calls when `litellm_settings.callbacks` names "mlflow".
 * It adds the MLflow span exporter to @llmux/otel's shared provider (so one span per call feeds
 * every tracing backend), returns the shared call tracer, and, with `mlflow_log_runs: true`, a
 * run-logging sink. Configuration: MLFLOW_TRACKING_URI (required), MLFLOW_EXPERIMENT_NAME
 * (default "llmux"), MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD, AWS_* for
 * SageMaker; `litellm_settings` keys (mlflow_*) win over the environment.
 */
import { addSpanExporter, getSharedCallTracer } from "@llmux/otel";
import type { LlmuxPlugin, PluginFactory, PluginFactoryContext } from "./contracts";
import { createMlflowError } from "./errors";
import { mlflowExporter } from "./exporter";
import { mlflowRunLogger } from "./run-logger";
import { resolveTrackingTarget } from "./tracking-uri";
import type { MlflowExporterStats, MlflowExportMode, MlflowRunGrouping, MlflowRunLoggerStats } from "./types";

/** The "mlflow" plugin, with the exporter's and run logger's counters. */
export interface MlflowPlugin extends LlmuxPlugin {
  stats(): { exporter: MlflowExporterStats; runs: MlflowRunLoggerStats | undefined };
}

export const PLUGIN_NAME = "mlflow";

function settingString(settings: Record<string, unknown>, key: string): string | undefined {
  const value = settings[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw createMlflowError("config", `litellm_settings.${key} must be a string`);
  }
  return value.trim() === "" ? undefined : value.trim();
}

function settingFlag(settings: Record<string, unknown>, key: string): boolean | undefined {
  const value = settings[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean")
    throw createMlflowError("config", `litellm_settings.${key} must be true or false`);
  return value;
}

function settingChoice<T extends string>(
  settings: Record<string, unknown>,
  key: string,
  choices: readonly T[],
): T | undefined {
  const value = settingString(settings, key);
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw createMlflowError(
      "config",
      `litellm_settings.${key} must be one of ${choices.join(", ")}, not "${value}"`,
    );
  }
  return value as T;
}

/** `createPlugin` with its precise return type. */
export function createMlflowPlugin(name: string, context: PluginFactoryContext): MlflowPlugin {
  if (name !== PLUGIN_NAME) {
    throw createMlflowError(
      "config",
      `@llmux/mlflow has no plugin named '${name}' (it provides: ${PLUGIN_NAME})`,
    );
  }
  const env = context.env;
  const settings = context.settings ?? {};
  const trackingUri = settingString(settings, "mlflow_tracking_uri") ?? env.MLFLOW_TRACKING_URI?.trim();
  if (!trackingUri) {
    throw createMlflowError(
      "config",
      "callback 'mlflow' needs MLFLOW_TRACKING_URI: the MLflow tracking server URL (e.g. http://localhost:5000) or a SageMaker MLflow tracking server ARN (arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME)",
    );
  }
  const experimentName =
    settingString(settings, "mlflow_experiment_name") ?? (env.MLFLOW_EXPERIMENT_NAME?.trim() || "llmux");
  const mode =
    settingChoice<MlflowExportMode>(settings, "mlflow_export_mode", ["auto", "otlp", "rest"]) ?? "auto";
  const logRuns = settingFlag(settings, "mlflow_log_runs") ?? false;
  const runPer = settingChoice<MlflowRunGrouping>(settings, "mlflow_run_per", ["call", "batch"]) ?? "call";
  const flushTimeout = settings.mlflow_flush_timeout_ms;
  if (flushTimeout !== undefined && (typeof flushTimeout !== "number" || !(flushTimeout >= 0))) {
    throw createMlflowError(
      "config",
      "litellm_settings.mlflow_flush_timeout_ms must be a number of milliseconds",
    );
  }
  const captureContent =
    settingFlag(settings, "mlflow_capture_content") ?? settingFlag(settings, "otel_capture_content");
  const promoteCallSpansToRoots = settingFlag(settings, "mlflow_promote_call_spans") ?? true;
  // validates the URI (scheme, ARN) now: a bad value is a start-up error
  const target = resolveTrackingTarget(trackingUri, env);

  const connection = { trackingUri, experimentName, env, logger: context.logger };
  const exporter = mlflowExporter({
    ...connection,
    mode,
    promoteCallSpansToRoots,
    ...(typeof flushTimeout === "number" ? { flushTimeoutMs: flushTimeout } : {}),
  });
  const sink = logRuns ? mlflowRunLogger({ ...connection, runPer }) : undefined;
  const handle = addSpanExporter(exporter, {
    name: "mlflow",
    key: `mlflow:${target.baseUrl}:${experimentName}`,
    logger: context.logger,
  });
  const tracer = getSharedCallTracer({ captureContent: context.redact ? false : (captureContent ?? true) });
  context.logger.info("MLflow tracing enabled", {
    callback: name,
    trackingServer: target.sagemaker ? target.sagemaker.arn : target.baseUrl,
    experiment: experimentName,
    mode,
    runs: logRuns ? runPer : false,
  });

  const plugin: MlflowPlugin = {
    name: PLUGIN_NAME,
    tracer,
    ...(sink ? { sink } : {}),
    async flush() {
      await Promise.all([handle.flush(), sink?.flush()]);
    },
    async shutdown(options) {
      await Promise.all([handle.remove(options), sink?.shutdown(options)]);
    },
    stats: () => ({ exporter: exporter.stats(), runs: sink?.stats() }),
  };
  return plugin;
}

export const createPlugin: PluginFactory = createMlflowPlugin;
