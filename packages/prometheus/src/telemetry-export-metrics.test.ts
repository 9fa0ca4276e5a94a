/**
 * The telemetry export counters read the process-wide export health totals of @llmux/callbacks at
 * scrape time: spans per exporter and reason, scores and runs per exporter, signal and reason.
 */
import { exportHealth, resetExportHealth } from "@llmux/callbacks";
import { afterEach, expect, it } from "vitest";
import { prometheusPlugin } from "./prometheus-plugin";
import { parseExposition, select, sum } from "./test-support/exposition";

afterEach(() => resetExportHealth());

it("counts failed exports and dropped spans, scores and runs per exporter", async () => {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const otlp = exportHealth("otlp", "spans", { logger: quiet });
  otlp.failed(3, new Error("HTTP 500"));
  otlp.droppedQueueFull(7);
  otlp.succeeded(3);
  otlp.droppedAtShutdown(2, "the exporter did not finish before the shutdown deadline");
  exportHealth("langfuse", "scores", { logger: quiet }).failed(1, new Error("HTTP 503"));
  const runs = exportHealth("mlflow", "runs", { logger: quiet });
  runs.failed(4, new Error("ECONNREFUSED"));
  runs.failed(4, new Error("ECONNREFUSED"));

  const plugin = prometheusPlugin();
  const samples = parseExposition(await plugin.registry.metrics());
  const value = (name: string, labels: Record<string, string>) => sum(samples, name, labels);
  expect(value("llmux_telemetry_export_errors_total", { exporter: "otlp", signal: "spans" })).toBe(1);
  expect(value("llmux_telemetry_export_errors_total", { exporter: "langfuse", signal: "scores" })).toBe(1);
  expect(value("llmux_telemetry_export_errors_total", { exporter: "mlflow", signal: "runs" })).toBe(2);
  expect(value("llmux_telemetry_dropped_spans_total", { exporter: "otlp", reason: "export_failed" })).toBe(3);
  expect(value("llmux_telemetry_dropped_spans_total", { exporter: "otlp", reason: "queue_full" })).toBe(7);
  expect(value("llmux_telemetry_dropped_spans_total", { exporter: "otlp", reason: "shutdown" })).toBe(2);
  expect(
    value("llmux_telemetry_dropped_records_total", {
      exporter: "langfuse",
      signal: "scores",
      reason: "export_failed",
    }),
  ).toBe(1);
  expect(
    value("llmux_telemetry_dropped_records_total", {
      exporter: "mlflow",
      signal: "runs",
      reason: "export_failed",
    }),
  ).toBe(8);
  // spans are not counted as records, nor records as spans
  expect(select(samples, "llmux_telemetry_dropped_records_total", { exporter: "otlp" })).toEqual([]);
  expect(select(samples, "llmux_telemetry_dropped_spans_total", { exporter: "mlflow" })).toEqual([]);
});
