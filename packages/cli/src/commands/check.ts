import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { isConfigError, KNOWN_CONFIG_KEYS, loadConfigFile, type ResolvedConfig } from "@llmux/core";
import { didYouMean } from "../did-you-mean";
import type { Command } from "../types";

export const CHECK_USAGE = `Usage: llmux check --config FILE [--strict]

Validates a config without starting anything: every error (invalid value, unknown provider, missing
environment variable, a callback that cannot start) and every warning (unknown key with a did-you-mean,
a callback without its optional settings). Exits 1 on errors, and with --strict also on warnings.

  --config, -c   config file (default: $LLMUX_CONFIG, else llmux.config.yaml)
  --strict       treat warnings as errors`;

/** The callbacks llmux knows; `check` names the closest one for anything else. */
const CALLBACKS = ["console", "jsonl", "prometheus", "otel", "langfuse", "langfuse_otel", "mlflow"];

export interface CheckReport {
  errors: string[];
  warnings: string[];
  config?: ResolvedConfig;
}

/** Checks a config file against the environment `env`; never throws. */
export function checkConfig(path: string, env: Record<string, string | undefined>): CheckReport {
  const warnings: string[] = [];
  const errors: string[] = [];
  let config: ResolvedConfig | undefined;
  try {
    config = loadConfigFile(path, { env, warn: (message) => warnings.push(withSuggestion(message)) });
  } catch (error) {
    if (!isConfigError(error)) return { errors: [String((error as Error)?.message ?? error)], warnings };
    errors.push(...error.problems);
    // Missing variables stop the load before the unknown-key pass: load once more with placeholders
    // so every warning is still reported.
    const placeholders = new Proxy(env, {
      get: (target, name) => (typeof name === "string" ? target[name] || "placeholder" : undefined),
    });
    try {
      const partial = loadConfigFile(path, {
        env: placeholders,
        warn: (message) => warnings.push(withSuggestion(message)),
      });
      checkCallbacks(partial, env, errors, warnings);
    } catch {
      // the errors are those of the first pass
    }
    return { errors, warnings };
  }
  checkCallbacks(config, env, errors, warnings);
  return { errors, warnings, config };
}

function withSuggestion(message: string): string {
  const match = /unknown key '(.+)' is ignored/.exec(message);
  if (!match) return message;
  const path = match[1]!;
  const dot = path.lastIndexOf(".");
  const key = path.slice(dot + 1);
  const section = sectionOf(dot === -1 ? "" : path.slice(0, dot));
  const suggestion = didYouMean(key, KNOWN_CONFIG_KEYS[section]);
  return suggestion ? `${message} (did you mean '${suggestion}'?)` : message;
}

function sectionOf(prefix: string): keyof typeof KNOWN_CONFIG_KEYS {
  if (prefix === "") return "root";
  if (prefix.endsWith(".litellm_params")) return "litellm_params";
  if (prefix.endsWith(".model_info")) return "model_info";
  if (prefix.startsWith("model_list[")) return "deployment";
  if (prefix in KNOWN_CONFIG_KEYS) return prefix as keyof typeof KNOWN_CONFIG_KEYS;
  return "root";
}

function checkCallbacks(
  config: ResolvedConfig,
  env: Record<string, string | undefined>,
  errors: string[],
  warnings: string[],
): void {
  const callbacks = new Set([
    ...config.callbacks.all,
    ...config.callbacks.success,
    ...config.callbacks.failure,
  ]);
  for (const name of callbacks) checkCallback(name, config, env, errors, warnings);
}

function checkCallback(
  name: string,
  config: ResolvedConfig,
  env: Record<string, string | undefined>,
  errors: string[],
  warnings: string[],
): void {
  const set = (key: string) => Boolean(env[key]?.trim());
  const setting = (key: string) => {
    const value = config.litellmSettings[key];
    return typeof value === "string" && value.trim().length > 0;
  };
  switch (name) {
    case "langfuse":
    case "langfuse_otel": {
      const missing = ["LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"].filter((key) => !set(key));
      if (missing.length > 0) {
        errors.push(`callback '${name}' needs ${missing.join(" and ")} in the environment`);
      } else if (!set("LANGFUSE_HOST") && !set("LANGFUSE_BASE_URL")) {
        warnings.push(
          `callback '${name}' without LANGFUSE_HOST or LANGFUSE_BASE_URL: traces go to https://cloud.langfuse.com`,
        );
      }
      return;
    }
    case "mlflow":
      if (!setting("mlflow_tracking_uri") && !set("MLFLOW_TRACKING_URI")) {
        errors.push(
          "callback 'mlflow' needs MLFLOW_TRACKING_URI (or litellm_settings.mlflow_tracking_uri): an MLflow server URL or a SageMaker MLflow tracking server ARN",
        );
      } else if (!setting("mlflow_experiment_name") && !set("MLFLOW_EXPERIMENT_NAME")) {
        warnings.push(
          "callback 'mlflow' without MLFLOW_EXPERIMENT_NAME: traces go to the experiment 'llmux'",
        );
      }
      return;
    case "otel":
      if (!set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
        warnings.push(
          "callback 'otel' without OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: spans go to http://localhost:4318/v1/traces",
        );
      }
      return;
    case "console":
    case "jsonl":
    case "prometheus":
      return;
    default: {
      const suggestion = didYouMean(name, CALLBACKS);
      warnings.push(
        `callback '${name}' is not supported by llmux and is ignored${suggestion ? ` (did you mean '${suggestion}'?)` : ` (supported: ${CALLBACKS.join(", ")})`}`,
      );
    }
  }
}

export const checkCommand: Command = {
  name: "check",
  usage: CHECK_USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { config: { type: "string", short: "c" }, strict: { type: "boolean" } },
      strict: true,
      allowPositionals: true,
    });
    const path = resolve(values.config ?? positionals[0] ?? io.env.LLMUX_CONFIG ?? "llmux.config.yaml");
    const report = checkConfig(path, io.env);
    for (const error of report.errors) io.stdout(`error: ${error}\n`);
    for (const warning of report.warnings) io.stdout(`warning: ${warning}\n`);
    const strict = values.strict === true;
    const failed = report.errors.length > 0 || (strict && report.warnings.length > 0);
    const groups = report.config ? new Set(report.config.deployments.map((d) => d.modelGroup)).size : 0;
    io.stdout(
      `${path}: ${report.errors.length} error${report.errors.length === 1 ? "" : "s"}, ${report.warnings.length} warning${report.warnings.length === 1 ? "" : "s"}${report.config ? `, ${report.config.deployments.length} deployments in ${groups} model groups` : ""}${failed ? "" : " - ok"}${strict && report.errors.length === 0 && report.warnings.length > 0 ? " (--strict: warnings are errors)" : ""}\n`,
    );
    return failed ? 1 : 0;
  },
};
