import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createSinkRegistry, defaultSinkRegistry } from "./sink-registry";

describe("sink registry", () => {
  it("the default registry knows console and jsonl", () => {
    expect(defaultSinkRegistry.has("console")).toBe(true);
    expect(defaultSinkRegistry.has("jsonl")).toBe(true);
    const sink = defaultSinkRegistry.create("console", { stream: new PassThrough() });
    expect(sink.name).toBe("console");
    expect(typeof sink.onSuccess).toBe("function");
    // jsonl without a path is a clear error.
    expect(() => defaultSinkRegistry.create("jsonl", {})).toThrow('jsonlSink: option "path"');
  });

  it("registers custom factories and names the known ones for an unknown name", () => {
    const registry = createSinkRegistry();
    registry.register<{ label: string }>("audit", (options) => ({ name: `audit-${options.label}` }));
    expect(registry.create("audit", { label: "eu" }).name).toBe("audit-eu");
    expect(registry.names()).toEqual(["audit"]);
    let caught: unknown;
    try {
      registry.create("langfuse_v2");
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      message: 'unknown callback sink "langfuse_v2" (known: audit)',
      code: "unknown_sink",
      sink: "langfuse_v2",
    });
  });
});
