/**
 * setupTracing in a host that runs its own OpenTelemetry SDK: the host's provider is never
 * replaced, the host keeps its spans, llmux's exporters get llmux's spans, and the call span is
 * still a child of the host's HTTP SERVER span. (Own file: it changes process globals.)
 */
import type * as Http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { type DecodedSpan, type OtlpReceiver, startOtlpReceiver } from "@llmux/testing";
import { SpanKind, trace } from "@opentelemetry/api";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { otlpExporter } from "./exporters";
import { getSharedCallTracer, resetSharedTracing } from "./registry";
import { setupTracing } from "./setup-tracing";
import { callEvent, runCall } from "./test-fixtures";

let receiver: OtlpReceiver;
const hostExporter = new InMemorySpanExporter();
const hostProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(hostExporter)] });
let disableHostInstrumentation: () => void;

beforeAll(async () => {
  // The host's own SDK, set up before llmux (its usual tracing.ts).
  hostProvider.register();
  disableHostInstrumentation = registerInstrumentations({
    tracerProvider: hostProvider,
    instrumentations: [new HttpInstrumentation()],
  });
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  disableHostInstrumentation();
  await hostProvider.shutdown();
  await resetSharedTracing();
  await receiver.close();
});

describe("setupTracing with the host's own SDK", () => {
  it("leaves the host provider in place and still nests llmux's span under the host's HTTP span", async () => {
    const tracing = setupTracing({
      exporters: [otlpExporter({ url: receiver.tracesUrl, env: {} })],
      env: {},
    });
    expect(tracing.hostProvider).toBe(true);
    const global = trace.getTracerProvider() as unknown as { getDelegate(): unknown };
    expect(global.getDelegate()).toBe(hostProvider);

    const http = createRequire(import.meta.url)("node:http") as typeof Http;
    const server = http.createServer((_request, response) => {
      runCall(getSharedCallTracer(), callEvent());
      response.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/chat`)).text()).toBe("ok");
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await tracing.flush();

    const llmuxSpans = await receiver.waitForSpans(2);
    const hostSpans = hostExporter.getFinishedSpans();
    const serverSpan = hostSpans.find((span) => span.kind === SpanKind.SERVER);
    expect(serverSpan).toBeDefined();
    // The host's pipeline has only the host's spans; llmux's exporter only llmux's.
    expect(hostSpans.some((span) => span.name === "chat gpt-4o")).toBe(false);
    expect(llmuxSpans.map((span) => span.name).sort()).toEqual(["attempt gpt4o-east", "chat gpt-4o"]);
    const call = llmuxSpans.find((span) => span.name === "chat gpt-4o") as DecodedSpan;
    expect(call.traceId).toBe(serverSpan?.spanContext().traceId);
    expect(call.parentSpanId).toBe(serverSpan?.spanContext().spanId);

    await tracing.shutdown();
    // Still the host's.
    expect((trace.getTracerProvider() as unknown as { getDelegate(): unknown }).getDelegate()).toBe(
      hostProvider,
    );
  });
});
