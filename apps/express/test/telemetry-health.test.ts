/**
 * Export failures are visible: the reference app exports its call spans to an OTLP collector (the
 * @llmux/testing receiver) that fails twice and then recovers. The outage is logged once when it
 * starts and once when it ends, and /metrics counts the failed exports and the spans they lost.
 */
import type { Logger } from "@llmux/callbacks";
import { type MockProvider, type OtlpReceiver, startMockProvider, startOtlpReceiver } from "@llmux/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startReferenceApp } from "../src/app";

let mock: MockProvider;
let receiver: OtlpReceiver;
let app: Awaited<ReturnType<typeof startReferenceApp>>;
const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
const logger: Logger = {
  debug: () => undefined,
  info: (message, fields) => void lines.push({ level: "info", message, fields }),
  warn: (message, fields) => void lines.push({ level: "warn", message, fields }),
  error: (message, fields) => void lines.push({ level: "error", message, fields }),
};

beforeAll(async () => {
  mock = await startMockProvider();
  receiver = await startOtlpReceiver();
  app = await startReferenceApp({
    config: {
      model_list: [
        { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1` } },
      ],
      litellm_settings: { callbacks: ["otel", "prometheus"] },
    },
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl },
    logger,
    quietOpenWarning: true,
  });
});
afterAll(async () => {
  await app?.close();
  await receiver?.close();
  await mock?.close();
});

async function call(): Promise<void> {
  const response = await fetch(`${app.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
  });
  expect(response.status).toBe(200);
  await response.text();
  await app.gateway.flush(); // one export per call
}

function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

const telemetryLines = () => lines.filter((line) => line.message.startsWith("telemetry exporter"));

it("a collector that fails, then recovers: one line for the outage, one for the recovery, the losses counted in /metrics", async () => {
  receiver.failNext(500, 2); // a 500 is not retried: each failed export loses its batch
  await call();
  await call();
  expect(receiver.requests.map((request) => request.status)).toEqual([500, 500]);
  // the outage was logged once, when it started, with the error and the exporter's name
  expect(telemetryLines()).toHaveLength(1);
  expect(telemetryLines()[0]).toMatchObject({
    level: "error",
    message: expect.stringContaining('telemetry exporter "otlp" is failing'),
    fields: { exporter: "otlp" },
  });
  expect(String(telemetryLines()[0]!.fields?.error)).toContain("500");

  await call();
  expect(receiver.requests.map((request) => request.status)).toEqual([500, 500, 200]);
  const spansPerCall = receiver.requests[2]!.spanCount;
  expect(spansPerCall).toBeGreaterThan(0);
  expect(telemetryLines()).toHaveLength(2);
  expect(telemetryLines()[1]).toMatchObject({
    level: "info",
    message: 'telemetry exporter "otlp" recovered: spans are delivered again',
    fields: { exporter: "otlp", failedExports: 2, dropped_spans: 2 * spansPerCall },
  });

  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  expect(metric(metrics, "llmux_telemetry_export_errors_total", 'exporter="otlp",signal="spans"')).toBe(2);
  expect(
    metric(metrics, "llmux_telemetry_dropped_spans_total", 'exporter="otlp",reason="export_failed"'),
  ).toBe(2 * spansPerCall);
  expect(metric(metrics, "llmux_telemetry_dropped_spans_total", 'exporter="otlp",reason="queue_full"')).toBe(
    0,
  );
  expect(metric(metrics, "llmux_telemetry_dropped_spans_total", 'exporter="otlp",reason="shutdown"')).toBe(0);

  // delivering again is not news: no more lines
  await call();
  expect(telemetryLines()).toHaveLength(2);
});
