/**
 * The llmux configurations under test, shared by the Express, Koa and Nest children.
 *
 * - "off": one OpenAI-compatible deployment on the mock, no callbacks, no plugins, no auth. What the
 *   gateway itself costs (parsing, routing, pricing for the cost header, the SSE re-encoding).
 * - "all": everything a production host turns on: master-key auth, a real callback sink (JSONL
 *   file, rotated, no fsync), pricing, OpenTelemetry call + attempt spans exported over OTLP/HTTP
 *   protobuf to a receiver in another process (the `otel` callback of @llmux/otel, content
 *   captured), and Prometheus metrics (@llmux/prometheus). No console sink.
 * - a comma list of those parts ("otel", "prometheus", ...): one part alone, to see what it costs.
 *   Not in "all": "redis" (state shared through the Redis at BENCH_REDIS_URL, default 127.0.0.1:6379, under
 *   a key prefix of this process; the deployment has an rpm limit so every call takes the shared rpm
 *   reservation, the one round trip a call waits for) and "cache" (the response cache, on Redis with
 *   "redis", else in process; the load sends one request over and over, so every call after the first is a
 *   hit). See docs/scaling.md. Nor "hooks": a plugin whose beforeCall and afterCall hooks do nothing
 *   (afterCallReadsContent: false), what the gateway's hook path costs apart from any hook's own work
 *   (`llmux-express-with:auth,hooks` against `llmux-express-with:auth`; the control plane's spend log is
 *   such an afterCall hook). Figures: docs/keys-and-budgets.md, session 10.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonlSink, type Logger } from "@llmux/callbacks";
import type { Gateway, GatewayOptions } from "@llmux/core";
import { prometheusPlugin } from "@llmux/prometheus";
import { requireEnv } from "../server-protocol";
import { BENCH_MASTER_KEY } from "./bench-keys";

/** The parts of "everything on", each of which can be measured alone (ablation). */
export const COMPONENTS = [
  "auth",
  "jsonl",
  "otel",
  "otel-content",
  "prometheus",
  "redis",
  "cache",
  "hooks",
] as const;
export type Component = (typeof COMPONENTS)[number];

/** "off", "all" (auth, jsonl, otel with content, prometheus), or a comma list of components. */
export type LlmuxMode = "off" | "all" | string;

export function llmuxMode(): LlmuxMode {
  return process.env.BENCH_LLMUX_MODE ?? "off";
}

export function componentsOf(mode: LlmuxMode): Set<Component> {
  if (mode === "off") return new Set();
  if (mode === "all") return new Set(["auth", "jsonl", "otel-content", "prometheus"]);
  const names = mode.split(",").filter(Boolean);
  for (const name of names)
    if (!(COMPONENTS as readonly string[]).includes(name))
      throw new Error(
        `BENCH_LLMUX_MODE: unknown component ${name} (off, all, or some of ${COMPONENTS.join(", ")})`,
      );
  return new Set(names as Component[]);
}

/** Warnings and errors only, on stderr (nothing is logged per call). */
export const quietLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields) =>
    process.stderr.write(`[bench llmux] warn: ${message} ${JSON.stringify(fields ?? {})}\n`),
  error: (message, fields) =>
    process.stderr.write(`[bench llmux] error: ${message} ${JSON.stringify(fields ?? {})}\n`),
};

export function llmuxOptions(mode: LlmuxMode): GatewayOptions {
  const components = componentsOf(mode);
  const upstream = requireEnv("BENCH_UPSTREAM_URL");
  const deployment = {
    model_name: "gpt-4o",
    litellm_params: { model: "openai/gpt-4o", api_base: `${upstream}/v1`, api_key: "sk-bench-upstream" },
  };
  const otel = components.has("otel") || components.has("otel-content");
  const redis = components.has("redis");
  if (redis) Object.assign(deployment.litellm_params, { rpm: 100_000_000 });
  const options: GatewayOptions = {
    config: {
      model_list: [deployment],
      ...(redis
        ? {
            router_settings: {
              redis_url: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
              redis_key_prefix: `llmux-bench:${process.pid}:`,
            },
          }
        : {}),
      litellm_settings: {
        ...(components.has("cache")
          ? { cache: true, cache_params: { type: redis ? "redis" : "local" } }
          : {}),
        callbacks: otel ? ["otel"] : [],
        // the otel plugin records prompts and responses unless told not to
        ...(components.has("otel") && !components.has("otel-content") ? { otel_capture_content: false } : {}),
      },
      ...(components.has("auth") ? { general_settings: { master_key: BENCH_MASTER_KEY } } : {}),
    },
    logger: quietLogger,
    quietOpenWarning: true,
  };
  if (otel) {
    options.env = {
      ...process.env,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: requireEnv("BENCH_TRACES_URL"),
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
    };
  }
  if (components.has("jsonl")) {
    const directory = mkdtempSync(join(tmpdir(), "llmux-bench-"));
    options.sinks = [
      jsonlSink({
        path: join(directory, "calls.jsonl"),
        maxBytes: 32 * 1024 * 1024,
        maxFiles: 1,
        fsync: false,
      }),
    ];
  }
  if (components.has("prometheus")) options.plugins = [prometheusPlugin()];
  if (components.has("hooks")) {
    options.plugins = [
      ...(options.plugins ?? []),
      {
        name: "bench-noop-hooks",
        hooks: { beforeCall: () => undefined, afterCall: () => undefined, afterCallReadsContent: false },
      },
    ];
  }
  return options;
}

/** What the "all" server reports for the sanity check: events delivered, spans started, metrics. */
export async function llmuxTelemetry(gateway: Gateway): Promise<Record<string, unknown>> {
  const sinks = gateway.engine.stats();
  const metricsRoute = gateway.routes().find((route) => route.path.endsWith("metrics"));
  return {
    sinks,
    tracers: gateway.tracers.length,
    plugins: gateway.plugins().map((plugin) => plugin.name),
    metricsRoute: metricsRoute?.path ?? null,
  };
}
