import { resolve } from "node:path";
import { isConfigError } from "../config/config-error";
import { loadConfigFile } from "../config/load-config";
import type { ResolvedConfig } from "../config/types";
import type { ShutdownPlan } from "../gateway/create-gateway";
import { onShutdownSignals } from "../gateway/shutdown-signals";
import { addTelemetryCallbacks, type Environment, startHostTracing } from "./environment-telemetry";

/** What `start` returns: its URL and a close that follows the plan (see closeGracefully). */
export interface ServedApp {
  url: string;
  close(plan?: ShutdownPlan): Promise<void>;
}

export interface ServeFromEnvironmentOptions<App extends ServedApp> {
  /** Service name for host tracing and the start-up line, e.g. "reference-express-app". */
  name: string;
  /**
   * Starts the host app. Import the framework inside it (`await import("./app.js")`): it runs after
   * tracing is set up, so the framework's own HTTP spans are traced too.
   */
  start(options: { config: ResolvedConfig; port: number; host: string }): Promise<App>;
  env?: Environment;
}

/**
 * The start-up of a host process configured by the environment: LLMUX_CONFIG (default
 * llmux.config.yaml), PORT (default 4000), HOST (default 127.0.0.1); host tracing and the telemetry
 * callbacks the environment names (Langfuse, OTLP, MLflow); graceful stop on SIGTERM/SIGINT
 * (onShutdownSignals: LLMUX_SHUTDOWN_TIMEOUT_MS, default 15 000, and LLMUX_SHUTDOWN_GRACE_MS). A
 * configuration error is printed and exits 1.
 */
export async function serveFromEnvironment<App extends ServedApp>(
  options: ServeFromEnvironmentOptions<App>,
): Promise<void> {
  const env = options.env ?? process.env;
  const configPath = resolve(env.LLMUX_CONFIG ?? "llmux.config.yaml");
  try {
    const tracing = await startHostTracing(options.name, env);
    const config = loadConfigFile(configPath, {
      env,
      warn: (message) => process.stderr.write(`[llmux] warn: ${message}\n`),
    });
    const telemetry = addTelemetryCallbacks(config, env);
    const app = await options.start({
      config,
      port: Number(env.PORT ?? 4000),
      host: env.HOST ?? "127.0.0.1",
    });
    process.stdout.write(
      `${options.name} listening on ${app.url} (gateway at ${app.url}/v1, config ${configPath})\n`,
    );
    if (telemetry.length > 0)
      process.stdout.write(`telemetry from the environment: ${telemetry.join(", ")}\n`);
    onShutdownSignals(
      async (plan) => {
        await app.close(plan);
        await tracing?.shutdown({ deadline: plan.deadline });
      },
      { env },
    );
  } catch (error) {
    process.stderr.write(
      `${isConfigError(error) ? error.message : String((error as Error)?.stack ?? error)}\n`,
    );
    process.exit(1);
  }
}
