/**
 * The llmux configurations under test, shared by the Express, Koa and Nest children.
 *
 * - "off": one OpenAI-compatible deployment on the mock, no callbacks, no plugins, no auth. What the
 *   gateway itself costs (parsing, routing, pricing for the cost header, the SSE re-encoding).
 * - "all": everything a production host turns on: master-key auth, a real callback sink (JSONL
 *   file, rotated, no fsync), pricing, OpenTelemetry call + attempt spans exported over OTLP/HTTP
 *   protobuf to a receiver in another process (the `otel` callback of @llmux/otel, content
 *   captured), and Prometheus metrics (@llmux/prometheus). No console sink.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonlSink, type Logger } from "@llmux/callbacks";
import type { Gateway, GatewayOptions } from "@llmux/core";
import { prometheusPlugin } from "@llmux/prometheus";
import { requireEnv } from "../server-protocol";
import { BENCH_MASTER_KEY } from "./bench-keys";

export type LlmuxMode = "off" | "all";

export function llmuxMode(): LlmuxMode {
  const mode = process.env.BENCH_LLMUX_MODE ?? "off";
  if (mode !== "off" && mode !== "all") throw new Error(`BENCH_LLMUX_MODE must be off or all, got ${mode}`);
  return mode;
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
  const upstream = requireEnv("BENCH_UPSTREAM_URL");
  const deployment = {
    model_name: "gpt-4o",
    litellm_params: { model: "openai/gpt-4o", api_base: `${upstream}/v1`, api_key: "sk-bench-upstream" },
  };
  if (mode === "off") {
    return {
      config: { model_list: [deployment] },
      logger: quietLogger,
      quietOpenWarning: true,
    };
  }
  const tracesUrl = requireEnv("BENCH_TRACES_URL");
  const directory = mkdtempSync(join(tmpdir(), "llmux-bench-"));
  return {
    config: {
      model_list: [deployment],
      litellm_settings: { callbacks: ["otel"] },
      general_settings: { master_key: BENCH_MASTER_KEY },
    },
    env: {
      ...process.env,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: tracesUrl,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
    },
    logger: quietLogger,
    sinks: [
      jsonlSink({
        path: join(directory, "calls.jsonl"),
        maxBytes: 32 * 1024 * 1024,
        maxFiles: 1,
        fsync: false,
      }),
    ],
    plugins: [prometheusPlugin()],
  };
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
