import { resolve } from "node:path";
import {
  addTelemetryCallbacks,
  isConfigError,
  loadConfigFile,
  onShutdownSignals,
  startHostTracing,
} from "@llmux/core";

const configPath = resolve(process.env.LLMUX_CONFIG ?? "llmux.config.yaml");
const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? "127.0.0.1";

try {
  // Tracing first, then the app (and Koa) is loaded, so the host's own HTTP spans are traced too.
  const tracing = await startHostTracing("reference-koa-app", process.env);
  const { startReferenceApp } = await import("./app.js");
  const config = loadConfigFile(configPath, {
    env: process.env,
    warn: (message) => process.stderr.write(`[llmux] warn: ${message}\n`),
  });
  const telemetry = addTelemetryCallbacks(config, process.env);
  const app = await startReferenceApp({ config, port, host });
  process.stdout.write(
    `reference Koa app listening on ${app.url} (gateway at ${app.url}/v1, config ${configPath})\n`,
  );
  if (telemetry.length > 0) process.stdout.write(`telemetry from the environment: ${telemetry.join(", ")}\n`);
  onShutdownSignals(async () => {
    await app.close();
    await tracing?.shutdown();
  });
} catch (error) {
  process.stderr.write(
    `${isConfigError(error) ? error.message : String((error as Error)?.stack ?? error)}\n`,
  );
  process.exit(1);
}
