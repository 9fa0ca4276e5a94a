/**
 * Which vendor keys a span carries: createCallTracer's `vendorAttributes` option, and the shared
 * tracer following the exporters registered with addSpanExporter (Langfuse keys only when some
 * exporter may reach Langfuse, MLflow keys only when some may reach MLflow).
 */
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { createCallTracer } from "./call-tracer";
import { addSpanExporter, flushTracing, getSharedCallTracer, resetSharedTracing } from "./registry";
import { callEvent, memoryTracing, runCall } from "./test-fixtures";

function keysOf(attributes: Record<string, unknown>, prefix: string): string[] {
  return Object.keys(attributes).filter((key) => key.startsWith(prefix));
}

afterEach(async () => {
  await resetSharedTracing();
});

describe("vendor attribute families", () => {
  it("createCallTracer writes both families by default and leaves out the ones switched off", () => {
    for (const [vendorAttributes, langfuse, mlflow] of [
      [undefined, true, true],
      [{ langfuse: false }, false, true],
      [{ mlflow: false }, true, false],
    ] as const) {
      const memory = memoryTracing();
      const tracer = createCallTracer({
        tracer: memory.provider.getTracer("test"),
        captureContent: true,
        environment: "staging",
        vendorAttributes,
      });
      runCall(tracer, callEvent());
      for (const span of memory.spans()) {
        // sent: one chat call with usage, cost, tags, metadata and content; back: the spans' keys
        expect(keysOf(span.attributes, "langfuse.").length > 0).toBe(langfuse);
        expect(keysOf(span.attributes, "mlflow.").length > 0).toBe(mlflow);
        // the GenAI conventions and llmux's own keys do not depend on the vendors
        expect(span.attributes["gen_ai.request.model"]).toBe("gpt-4o");
        expect(keysOf(span.attributes, "llmux.").length).toBeGreaterThan(0);
      }
      const call = memory.spans().find((span) => span.name === "chat gpt-4o");
      expect(call?.attributes["gen_ai.input.messages"]).toBeTypeOf("string");
      expect(call?.attributes["gen_ai.usage.input_tokens"]).toBe(1200);
    }
  });

  it("the shared tracer writes only MLflow keys when the only exporter is MLflow's, both once another joins", async () => {
    const mlflow = new InMemorySpanExporter();
    addSpanExporter(mlflow, { name: "mlflow", key: "mlflow:http://127.0.0.1:5000:llmux" });
    runCall(getSharedCallTracer({ captureContent: true }), callEvent({ callId: "mlflow-only" }));
    await flushTracing();
    const onlyMlflow = mlflow.getFinishedSpans();
    expect(onlyMlflow).toHaveLength(2);
    for (const span of onlyMlflow) {
      expect(keysOf(span.attributes, "langfuse.")).toEqual([]);
      expect(span.attributes["mlflow.spanType"]).toBeTypeOf("string");
    }

    // a generic exporter may forward anywhere (a collector): both families again
    const generic = new InMemorySpanExporter();
    const handle = addSpanExporter(generic);
    runCall(getSharedCallTracer(), callEvent({ callId: "both" }));
    await flushTracing();
    const call = generic.getFinishedSpans().find((span) => span.attributes["llmux.call_id"] === "both");
    expect(call?.attributes["langfuse.observation.type"]).toBe("generation");
    expect(call?.attributes["mlflow.spanType"]).toBe("CHAT_MODEL");

    // removed again: back to MLflow only
    await handle.remove();
    runCall(getSharedCallTracer(), callEvent({ callId: "mlflow-again" }));
    await flushTracing();
    const again = mlflow
      .getFinishedSpans()
      .find((span) => span.attributes["llmux.call_id"] === "mlflow-again");
    expect(again && keysOf(again.attributes, "langfuse.")).toEqual([]);
  });

  it("the shared tracer leaves out MLflow keys when the only exporter is Langfuse's", async () => {
    const langfuse = Object.assign(new InMemorySpanExporter(), {
      name: "langfuse",
      url: "http://127.0.0.1:3000/api/public/otel/v1/traces",
    });
    addSpanExporter(langfuse);
    runCall(getSharedCallTracer({ captureContent: true, environment: "prod" }), callEvent());
    await flushTracing();
    const spans = langfuse.getFinishedSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) expect(keysOf(span.attributes, "mlflow.")).toEqual([]);
    const call = spans.find((span) => span.name === "chat gpt-4o");
    expect(call?.attributes["langfuse.environment"]).toBe("prod");
    expect(JSON.parse(String(call?.attributes["langfuse.observation.usage_details"]))).toMatchObject({
      input: 1000,
    });
  });
});
