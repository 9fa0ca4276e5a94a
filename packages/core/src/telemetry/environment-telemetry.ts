import type { ResolvedConfig } from "../config/types";
import { importOptional } from "../gateway/import-optional";

export type Environment = Record<string, string | undefined>;

/**
 * The telemetry callbacks the environment names: Langfuse (LANGFUSE_PUBLIC_KEY + LANGFUSE_SECRET_KEY),
 * any OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and MLflow
 * (MLFLOW_TRACKING_URI). Each is loaded by the gateway like a `litellm_settings.callbacks` entry.
 */
export function telemetryCallbacks(env: Environment): string[] {
  const names: string[] = [];
  if (env.LANGFUSE_PUBLIC_KEY?.trim() && env.LANGFUSE_SECRET_KEY?.trim()) names.push("langfuse_otel");
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim())
    names.push("otel");
  if (env.MLFLOW_TRACKING_URI?.trim()) names.push("mlflow");
  return names;
}

/** Adds the callbacks the environment names to a resolved config, once; returns the ones it added. */
export function addTelemetryCallbacks(config: ResolvedConfig, env: Environment): string[] {
  const { all, success, failure } = config.callbacks;
  const present = new Set([...all, ...success, ...failure]);
  if (present.has("langfuse")) present.add("langfuse_otel");
  const added = telemetryCallbacks(env).filter((name) => !present.has(name));
  all.push(...added);
  return added;
}

/**
 * When the environment names Langfuse or an OTLP endpoint, sets up tracing (through @llmux/otel) so the
 * host's own HTTP requests are traced too and each call span sits under its server span. Call it before
 * the host framework is imported. Resolves to undefined when no tracing is configured.
 */
export async function startHostTracing(
  serviceName: string,
  env: Environment,
): Promise<{ shutdown(options?: { deadline?: number }): Promise<void> } | undefined> {
  const names = telemetryCallbacks(env).filter((name) => name !== "mlflow");
  if (names.length === 0) return undefined;
  const { setupTracing } = await importOptional<{
    setupTracing(options: { serviceName: string; env: Environment }): {
      shutdown(options?: { deadline?: number }): Promise<void>;
    };
  }>("@llmux/otel");
  return setupTracing({ serviceName, env });
}
