/**
 * An attempt's abort without an AbortSignal: listeners (undici's) are called once with no event, a
 * removed listener is not called, and the AbortSignal made on demand (before or after the abort)
 * carries the same reason. Also: a real undici request given it is aborted with that reason.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptSignal } from "./attempt-signal";

let server: Server;
let url = "";

beforeAll(async () => {
  // answers nothing: requests stay pending until aborted
  server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("AttemptSignal", () => {
  it("calls each listener once, not a removed one, and keeps the reason", () => {
    const signal = new AttemptSignal();
    const calls: string[] = [];
    const first = () => calls.push("first");
    const second = () => calls.push("second");
    const removed = () => calls.push("removed");
    signal.addEventListener("abort", first);
    signal.addEventListener("abort", removed);
    signal.addEventListener("abort", second);
    signal.removeEventListener("abort", removed);
    const reason = new Error("timeout");
    signal.abort(reason);
    signal.abort(new Error("again"));
    expect(calls).toEqual(["first", "second"]);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it("a listener that throws does not stop the others", () => {
    const signal = new AttemptSignal();
    const calls: string[] = [];
    signal.addEventListener("abort", () => {
      throw new Error("listener failure");
    });
    signal.addEventListener("abort", () => calls.push("after"));
    signal.abort("gone");
    expect(calls).toEqual(["after"]);
  });

  it("makes its AbortSignal on demand, aborted with the same reason before or after", () => {
    const before = new AttemptSignal();
    const early = before.signal;
    expect(early.aborted).toBe(false);
    const reason = new Error("client left");
    before.abort(reason);
    expect(early.aborted).toBe(true);
    expect(early.reason).toBe(reason);

    const after = new AttemptSignal();
    after.abort(reason);
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBe(reason);
    expect(after.signal).toBe(after.signal);
  });

  it("aborts a pending undici request with its reason", async () => {
    const agent = new Agent();
    const signal = new AttemptSignal();
    // sent: a POST to a server that never answers; the abort comes 20 ms later
    const pending = agent
      .request({ origin: url, path: "/", method: "POST", body: "{}", signal: signal as never })
      .catch((error: unknown) => error);
    setTimeout(() => signal.abort(new Error("attempt timed out")), 20);
    const error = await pending;
    expect((error as Error).message).toBe("attempt timed out");
    await agent.close();
  });
});
