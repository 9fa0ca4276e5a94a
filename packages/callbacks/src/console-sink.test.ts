import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createCallbackEngine } from "./callback-engine";
import { consoleSink, formatCallLine } from "./console-sink";
import { makeCallEvent, recordingLogger } from "./test-fixtures";

describe("consoleSink", () => {
  it("prints one readable line per call through the engine", async () => {
    const stream = new PassThrough();
    let output = "";
    stream.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    const engine = createCallbackEngine({ sinks: [consoleSink({ stream })], logger: recordingLogger() });
    engine.start(makeCallEvent());
    engine.success(makeCallEvent({ callId: "c-1" }));
    engine.failure(
      makeCallEvent({
        callId: "c-2",
        status: "failure",
        user: "bob smith",
        usage: null,
        cost: null,
        costReason: "no usage",
        timings: { startTime: 0, endTime: 95, durationMs: 95, upstreamMs: 90, overheadMs: 5 },
        error: { type: "rate_limit", status: 429, message: "Rate limit reached", provider: "openai" },
      }),
    );
    await engine.flush();
    // Sent start + success + failure: two lines came back (start events are not printed).
    expect(output.split("\n")).toEqual([
      "2025-05-01T10:00:01.840Z OK gpt-4o → gpt4o-east (openai) in=1200 out=350 cost=$0.00625 dur=1840ms ttft=210ms user=alice call=c-1",
      '1970-01-01T00:00:00.095Z FAIL 429 rate_limit gpt-4o → gpt4o-east (openai) in=- out=- cost=- dur=95ms ttft=- user="bob smith" call=c-2 error="Rate limit reached"',
      "",
    ]);
  });

  it("prints '-' for what a call does not have and formats costs readably", () => {
    const line = formatCallLine(
      makeCallEvent({
        callId: "c-3",
        deploymentId: undefined,
        provider: undefined,
        user: undefined,
        cost: { input: 0.5, output: 0.75, cacheRead: 0, cacheCreation: 0, total: 1.25, currency: "USD" },
        timings: { startTime: 0, endTime: 1000, durationMs: 1000.4, upstreamMs: 990, overheadMs: 10 },
      }),
    );
    expect(line).toBe(
      "1970-01-01T00:00:01.000Z OK gpt-4o → - (-) in=1200 out=350 cost=$1.2500 dur=1000ms ttft=- user=- call=c-3",
    );
  });
});
