/**
 * setupTracing in a host with no OpenTelemetry of its own: llmux registers the provider, the
 * context manager, the W3C propagator and the http instrumentation, so the host's request gets a
 * SERVER span and llmux's call span nests under it. (Own file: it changes process globals.)
 */
import type * as Http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { Logger } from "@llmux/callbacks";
import { type DecodedSpan, type OtlpReceiver, startOtlpReceiver } from "@llmux/testing";
import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { otlpExporter } from "./exporters";
import { createPlugin } from "./plugin";
import { getSharedCallTracer, hasGlobalTracerProvider, resetSharedTracing, tracingStats } from "./registry";
import { exportersFromEnvironment, hasContextManager, setupTracing } from "./setup-tracing";
import { callEvent, runCall } from "./test-fixtures";

let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await resetSharedTracing();
  await receiver.close();
});

describe("setupTracing without a host SDK", () => {
  it("registers globally, traces the host's HTTP requests and nests llmux's call span under them", async () => {
    expect(hasGlobalTracerProvider()).toBe(false);
    const tracing = setupTracing({
      serviceName: "shop-api",
      exporters: [otlpExporter({ url: receiver.tracesUrl, env: {} })],
      env: {},
    });
    expect(tracing.hostProvider).toBe(false);
    expect(hasGlobalTracerProvider()).toBe(true);
    expect(hasContextManager()).toBe(true);

    // The host loads http after setupTracing (as a CommonJS app would), so it is instrumented.
    const http = createRequire(import.meta.url)("node:http") as typeof Http;
    let ids: { traceId: string; spanId: string } | undefined;
    const server = http.createServer((_request, response) => {
      // Inside the host's handler: the gateway would call the tracer here.
      ids = runCall(getSharedCallTracer(), callEvent());
      response.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await fetch(`http://127.0.0.1:${port}/chat`, {
      headers: { traceparent: `00-${clientTrace}-00f067aa0ba902b7-01` },
    });
    expect(await response.text()).toBe("ok");
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await tracing.flush();

    const spans = await receiver.waitForSpans(3);
    const serverSpan = spans.find((span) => span.kindName === "SERVER") as DecodedSpan;
    const call = spans.find((span) => span.name === "chat gpt-4o") as DecodedSpan;
    // What was sent: GET /chat with a traceparent. What came back: the HTTP SERVER span continues
    // the client's trace and llmux's CLIENT span is its child.
    expect(serverSpan).toBeDefined();
    expect(serverSpan.traceId).toBe(clientTrace);
    expect(serverSpan.parentSpanId).toBe("00f067aa0ba902b7");
    expect(call.traceId).toBe(clientTrace);
    expect(call.parentSpanId).toBe(serverSpan.spanId);
    expect(ids?.spanId).toBe(call.spanId);
    expect(call.resource["service.name"]).toBe("shop-api");
    expect(serverSpan.resource["service.name"]).toBe("shop-api");

    await tracing.shutdown();
    // Given back as it was: no global provider, no context manager.
    expect(hasGlobalTracerProvider()).toBe(false);
    expect(hasContextManager()).toBe(false);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it("reads its exporters from the environment and shares them with the plugins (no double export)", async () => {
    const env = { LANGFUSE_BASE_URL: receiver.url, LANGFUSE_PUBLIC_KEY: "pk", LANGFUSE_SECRET_KEY: "sk" };
    expect(exportersFromEnvironment({}).length).toBe(0);
    expect(exportersFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).length).toBe(1);
    receiver.reset();
    const tracing = setupTracing({ env, instrumentations: false });
    const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
    const plugin = await createPlugin("langfuse_otel", { logger: silent, env, settings: {}, redact: false });
    // setupTracing's Langfuse exporter and the plugin's are the same endpoint: one exporter.
    expect(tracingStats().map((stats) => stats.exporter)).toEqual(["langfuse"]);
    runCall(plugin.tracer!, callEvent());
    await tracing.flush();
    await receiver.waitForSpans(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.spans).toHaveLength(2);
    expect(receiver.spans.every((span) => span.path === "/api/public/otel/v1/traces")).toBe(true);
    await plugin.shutdown?.();
    await tracing.shutdown();
    expect(tracingStats()).toEqual([]);
  });
});
