import { afterEach, describe, expect, it } from "vitest";
import { exportHealth, exportHealthStats, resetExportHealth } from "./export-health";
import type { Logger } from "./types";

function collectingLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: unknown }> } {
  const lines: Array<{ level: string; message: string; fields?: unknown }> = [];
  const push = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, message, fields });
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

afterEach(() => resetExportHealth());

describe("export health", () => {
  it("an outage is logged once when it starts and once when it ends; the failures between are counted", () => {
    const logger = collectingLogger();
    const health = exportHealth("otlp", "spans", { logger, reminderIntervalMs: 60_000 });
    health.succeeded(4);
    expect(logger.lines).toEqual([]); // delivering is not news
    for (let index = 0; index < 5; index++)
      health.failed(2, new Error("connect ECONNREFUSED 127.0.0.1:4318"));
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({
      level: "error",
      message: expect.stringContaining('telemetry exporter "otlp" is failing'),
      fields: { exporter: "otlp", error: "connect ECONNREFUSED 127.0.0.1:4318", dropped_spans: 2 },
    });
    expect(health.isFailing).toBe(true);
    health.succeeded(2);
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]).toMatchObject({
      level: "info",
      message: 'telemetry exporter "otlp" recovered: spans are delivered again',
      fields: { exporter: "otlp", failedExports: 5, dropped_spans: 10 },
    });
    health.succeeded(2);
    expect(logger.lines).toHaveLength(2);
    // a second outage is news again
    health.failed(1, "HTTP 500");
    expect(logger.lines).toHaveLength(3);
    expect(exportHealthStats()).toEqual([
      {
        exporter: "otlp",
        signal: "spans",
        exported: 8,
        exportErrors: 6,
        dropped: { queue_full: 0, export_failed: 11, shutdown: 0 },
        failing: 1,
      },
    ]);
  });

  it("a long outage is reminded at most once per interval", () => {
    const logger = collectingLogger();
    const health = exportHealth("mlflow", "runs", { logger, reminderIntervalMs: 0 });
    health.failed(1, "HTTP 503");
    health.failed(1, "HTTP 503");
    expect(logger.lines.map((line) => line.level)).toEqual(["error", "warn"]);
    expect(logger.lines[1]).toMatchObject({
      message: 'telemetry exporter "mlflow" is still failing',
      fields: { failedExports: 2, dropped_runs: 2 },
    });
  });

  it("records of the same name add up; each keeps its own outage state and logger", () => {
    const first = collectingLogger();
    const second = collectingLogger();
    const a = exportHealth("langfuse", "scores", { logger: first });
    const b = exportHealth("langfuse", "scores", { logger: second });
    a.failed(1, "HTTP 500");
    b.succeeded(3);
    b.droppedQueueFull(2);
    a.droppedAtShutdown(4, "the exporter did not finish before the shutdown deadline");
    expect(first.lines.map((line) => line.message)).toEqual([
      expect.stringContaining('"langfuse" is failing'),
      'telemetry exporter "langfuse": 4 scores dropped at shutdown: the exporter did not finish before the shutdown deadline',
    ]);
    expect(second.lines.map((line) => line.message)).toEqual([
      'telemetry exporter "langfuse": queue full, scores dropped',
    ]);
    expect(exportHealthStats().filter((stats) => stats.exporter === "langfuse")).toEqual([
      {
        exporter: "langfuse",
        signal: "scores",
        exported: 3,
        exportErrors: 1,
        dropped: { queue_full: 2, export_failed: 1, shutdown: 4 },
        failing: 1,
      },
    ]);
  });

  it("errors are scrubbed of credentials before they are logged", () => {
    const logger = collectingLogger();
    exportHealth("otlp", "spans", { logger }).failed(
      1,
      new Error("401 for Authorization: Bearer sk-secret-token-0123456789abcdef"),
    );
    expect(JSON.stringify(logger.lines)).not.toContain("sk-secret-token-0123456789abcdef");
  });
});
