import "reflect-metadata";
import { resolve } from "node:path";
import { addTelemetryCallbacks, isConfigError, loadConfigFile, startHostTracing } from "@llmux/core";

const configPath = resolve(process.env.LLMUX_CONFIG ?? "llmux.config.yaml");
const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? "127.0.0.1";

try {
  // Tracing first, then the app (and Nest) is loaded, so the host's own HTTP spans are traced too.
  const tracing = await startHostTracing("reference-nest-app", process.env);
  const { startReferenceApp } = await import("./app.js");
  const config = loadConfigFile(configPath, {
    env: process.env,
    warn: (message) => process.stderr.write(`[llmux] warn: ${message}\n`),
  });
  const telemetry = addTelemetryCallbacks(config, process.env);
  const app = await startReferenceApp({ config, port, host });
  process.stdout.write(
    `reference NestJS app (${app.platform} platform) listening on ${app.url} (gateway at ${app.url}/v1, config ${configPath})\n`,
  );
  if (telemetry.length > 0) process.stdout.write(`telemetry from the environment: ${telemetry.join(", ")}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping (finishing in-flight calls, flushing telemetry)\n`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    app
      .close()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (error) => {
          process.stderr.write(`shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (error) {
  process.stderr.write(
    `${isConfigError(error) ? error.message : String((error as Error)?.stack ?? error)}\n`,
  );
  process.exit(1);
}
