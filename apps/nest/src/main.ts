import "reflect-metadata";
import { resolve } from "node:path";
import { isConfigError } from "@llmux/core";
import { startReferenceApp } from "./app";

const configPath = resolve(process.env.LLMUX_CONFIG ?? "llmux.config.yaml");
const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? "127.0.0.1";

try {
  const app = await startReferenceApp({ config: configPath, port, host });
  process.stdout.write(
    `reference NestJS app (${app.platform} platform) listening on ${app.url} (gateway at ${app.url}/v1, config ${configPath})\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping (finishing in-flight calls, flushing telemetry)\n`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    app.close().then(
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
