/**
 * Langfuse scores: a scores API that fails, then recovers, is logged once when the outage starts and
 * once when it ends; the failed score is counted (export health totals, read by /metrics).
 */
import { exportHealthStats, type Logger, resetExportHealth } from "@llmux/callbacks";
import { type OtlpReceiver, startOtlpReceiver } from "@llmux/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { langfuseFeedback } from "./langfuse-feedback";

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  resetExportHealth();
});
afterAll(async () => {
  await receiver?.close();
});

it("a scores API that fails, then recovers: one line each way, the failed score counted", async () => {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => void lines.push({ level: "info", message, fields }),
    warn: (message, fields) => void lines.push({ level: "warn", message, fields }),
    error: (message, fields) => void lines.push({ level: "error", message, fields }),
  };
  const feedback = langfuseFeedback({
    baseUrl: receiver.url,
    publicKey: "pk-lf-test",
    secretKey: "sk-lf-never-logged",
    logger,
  });
  const score = { traceId: "0af7651916cd43dd8448eb211c80319c", name: "thumbs", value: true };
  receiver.failNext(503, 2);
  await expect(feedback.score(score)).rejects.toThrow(/HTTP 503/);
  await expect(feedback.score(score)).rejects.toThrow(/HTTP 503/);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    level: "error",
    message: expect.stringContaining('telemetry exporter "langfuse" is failing: scores are being dropped'),
  });
  expect(await feedback.score(score)).toEqual({ id: "score-1" });
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatchObject({
    level: "info",
    message: 'telemetry exporter "langfuse" recovered: scores are delivered again',
    fields: { failedExports: 2, dropped_scores: 2 },
  });
  expect(JSON.stringify(lines)).not.toContain("sk-lf-never-logged");
  expect(exportHealthStats().find((stats) => stats.signal === "scores")).toMatchObject({
    exporter: "langfuse",
    exported: 1,
    exportErrors: 2,
    dropped: { export_failed: 2 },
    failing: 0,
  });
});
