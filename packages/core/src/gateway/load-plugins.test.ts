import type { CallbackSink, CallEvent } from "@llmux/callbacks";
import { describe, expect, it } from "vitest";
import { restrict } from "./load-plugins";

class StatefulSink implements CallbackSink {
  readonly name = "stateful";
  private buffer: string[] = [];
  readonly flushed: string[] = [];
  onSuccess(event: CallEvent): void {
    this.buffer.push(event.callId);
  }
  onFailure(event: CallEvent): void {
    this.buffer.push(`failed:${event.callId}`);
  }
  async flush(): Promise<void> {
    this.flushed.push(...this.buffer);
    this.buffer = [];
  }
}

describe("restrict (success_callback / failure_callback)", () => {
  it("delegates to the original sink so its own state is used by flush()", async () => {
    const sink = new StatefulSink();
    const onlySuccess = restrict(sink, "success");
    expect(onlySuccess.only).toBe("success");
    expect(onlySuccess.onFailure).toBeUndefined();
    await onlySuccess.onSuccess!({ callId: "a" } as CallEvent);
    await onlySuccess.flush!();
    expect(sink.flushed).toEqual(["a"]);
  });

  it("keeps the sink itself for 'all'", () => {
    const sink = new StatefulSink();
    expect(restrict(sink, "all")).toBe(sink);
  });
});
