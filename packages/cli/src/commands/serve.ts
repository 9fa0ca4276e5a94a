import cluster from "node:cluster";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { addTelemetryCallbacks, isConfigError, loadConfigFile, onShutdownSignals } from "@llmux/core";
import { describeConfig } from "../config-summary";
import { startServer } from "../start-server";
import type { CliIo, Command } from "../types";
import { VERSION } from "../version";

export const SERVE_USAGE = `Usage: llmux [serve] --config FILE [--port 4000] [--host 127.0.0.1] [--num_workers N] [--detailed_debug]

Serves a LiteLLM-style config (model_list, router_settings, litellm_settings, general_settings) on
node:http: /v1/chat/completions, /v1/embeddings, /v1/messages, /v1/models (also without /v1), /health/*,
and plugin routes such as /metrics.

  --config, -c       config file (default: $LLMUX_CONFIG, else llmux.config.yaml)
  --port             TCP port (default: $PORT, else 4000; 0 picks a free one)
  --host             interface to listen on (default: $HOST, else 127.0.0.1; LiteLLM's default is 0.0.0.0)
  --num_workers      processes sharing the port through node:cluster (default 1)
  --detailed_debug   debug logging (LLMUX_LOG_LEVEL=debug)`;

interface ServeOptions {
  config: string;
  port: number;
  host: string;
  workers: number;
  debug: boolean;
}

export function parseServeOptions(args: string[], env: CliIo["env"]): ServeOptions {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c" },
      port: { type: "string" },
      host: { type: "string" },
      num_workers: { type: "string" },
      detailed_debug: { type: "boolean" },
      debug: { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  return {
    config: resolve(values.config ?? env.LLMUX_CONFIG ?? "llmux.config.yaml"),
    port: integer("--port", values.port ?? env.PORT, 4000, 0, 65535),
    host: values.host ?? env.HOST ?? "127.0.0.1",
    workers: integer("--num_workers", values.num_workers, 1, 1, 256),
    debug: values.detailed_debug === true || values.debug === true,
  };
}

function integer(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

export const serveCommand: Command = {
  name: "serve",
  usage: SERVE_USAGE,
  async run(args, io) {
    const options = parseServeOptions(args, io.env);
    const env = options.debug ? { ...io.env, LLMUX_LOG_LEVEL: "debug" } : io.env;
    if (options.workers > 1 && cluster.isPrimary) return runPrimary(options, env, io);
    try {
      const server = await startServer({
        config: options.config,
        port: options.port,
        host: options.host,
        env,
        logLevel: options.debug ? "debug" : undefined,
      });
      if (cluster.isWorker) {
        io.stdout(`llmux worker ${process.pid} listening on ${server.url}\n`);
        process.send?.({ llmux: "listening", url: server.url });
      } else {
        io.stdout(`llmux ${VERSION} (config ${options.config})\n`);
        for (const line of describeConfig(server.config)) io.stdout(`${line}\n`);
        io.stdout(`llmux listening on ${server.url} (OpenAI API at ${server.url}/v1)\n`);
      }
      onShutdownSignals((plan) => server.close(plan), { log: (line) => io.stdout(`${line}\n`), env });
      return -1; // keeps running
    } catch (error) {
      io.stderr(`${describeStartError(error, options)}\n`);
      return 1;
    }
  },
};

function describeStartError(error: unknown, options: ServeOptions): string {
  if (isConfigError(error)) return error.message;
  const code = (error as { code?: string })?.code;
  if (code === "EADDRINUSE") return `llmux: port ${options.port} on ${options.host} is already in use`;
  if (code === "EACCES") return `llmux: no permission to listen on ${options.host}:${options.port}`;
  // Programming errors keep their stack; configuration and plugin errors are their message.
  const programming = error instanceof TypeError || error instanceof ReferenceError;
  const text = programming || options.debug ? (error as Error)?.stack : (error as Error)?.message;
  return `llmux: start failed: ${String(text ?? error)}`;
}

/** The cluster primary: checks the config once, prints what it loads, forks the workers, restarts crashed ones. */
async function runPrimary(options: ServeOptions, env: CliIo["env"], io: CliIo): Promise<number> {
  let config: ReturnType<typeof loadConfigFile>;
  try {
    config = loadConfigFile(options.config, {
      env,
      warn: (message) => io.stderr(`[llmux] warn: ${message}\n`),
    });
    addTelemetryCallbacks(config, env);
  } catch (error) {
    io.stderr(`${describeStartError(error, options)}\n`);
    return 1;
  }
  io.stdout(`llmux ${VERSION} (config ${options.config})\n`);
  for (const line of describeConfig(config)) io.stdout(`${line}\n`);
  let stopping = false;
  let restarts = 0;
  let listening = 0;
  const fork = () => cluster.fork(env);
  // Each worker reports after printing its own line, so the summary line comes last.
  cluster.on("message", (_worker, message: { llmux?: string; url?: string }) => {
    if (message?.llmux !== "listening") return;
    listening++;
    if (listening === options.workers) {
      io.stdout(
        `llmux listening on ${message.url} with ${options.workers} workers (OpenAI API at ${message.url}/v1)\n`,
      );
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    if (restarts >= options.workers * 5) {
      io.stderr(`llmux: workers keep exiting (last: pid ${worker.process.pid}, code ${code}); stopping\n`);
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGTERM");
      process.exitCode = 1;
      return;
    }
    restarts++;
    io.stderr(`llmux: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    fork();
  });
  for (let index = 0; index < options.workers; index++) fork();
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    io.stdout(`${signal}: stopping ${options.workers} workers\n`);
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    let remaining = workers.length;
    if (remaining === 0) process.exit(0);
    for (const worker of workers) {
      worker.once("exit", () => {
        remaining--;
        if (remaining === 0) process.exit(process.exitCode ?? 0);
      });
      worker.process.kill("SIGTERM");
    }
    setTimeout(() => process.exit(1), 20_000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return -1;
}
