import { describe, expect, it } from "vitest";
import type { AfterCallContext, BeforeCallContext, RequestHooks } from ".";
import { isCallRejection, rejectCall } from "./call-rejection";
import { runAfterCallHooks, runBeforeCallHooks } from "./request-hooks";
import { makeCallEvent, recordingLogger } from "./test-fixtures";

function beforeContext(body: Record<string, unknown>): BeforeCallContext {
  return {
    callId: "call-1",
    callType: "chat",
    modelGroup: "gpt-4o",
    body,
    context: { user: "alice", tags: [], metadata: {} },
    request: undefined,
    state: {},
  };
}

describe("runBeforeCallHooks", () => {
  it("runs hooks in order; a hook may mutate the body or return a replacement the next hook sees", async () => {
    const seen: unknown[] = [];
    const hooks: RequestHooks[] = [
      {
        beforeCall: (context) => {
          context.body.temperature = 0;
        },
      },
      {
        beforeCall: async (context) => ({ ...context.body, max_tokens: 100 }),
      },
      {},
      {
        beforeCall: (context) => {
          seen.push(structuredClone(context.body));
        },
      },
    ];
    const context = beforeContext({ model: "gpt-4o", messages: [] });
    const body = await runBeforeCallHooks(hooks, context);
    // Sent a body through a mutating hook and a replacing hook: both changes came back.
    expect(body).toEqual({ model: "gpt-4o", messages: [], temperature: 0, max_tokens: 100 });
    expect(context.body).toBe(body);
    expect(seen).toEqual([body]);
  });

  it("propagates a rejection unchanged and stops running hooks", async () => {
    let laterRan = false;
    const hooks: RequestHooks[] = [
      {
        beforeCall: () => {
          throw rejectCall(403, "model not allowed for team search");
        },
      },
      {
        beforeCall: () => {
          laterRan = true;
        },
      },
    ];
    const error = await runBeforeCallHooks(hooks, beforeContext({})).catch((caught: unknown) => caught);
    expect(isCallRejection(error)).toBe(true);
    expect(error).toMatchObject({
      status: 403,
      type: "permission_denied",
      message: "model not allowed for team search",
    });
    expect(laterRan).toBe(false);
  });

  it("refuses a hook that returns something other than an object", async () => {
    const hooks = [{ beforeCall: () => "oops" }] as unknown as RequestHooks[];
    await expect(runBeforeCallHooks(hooks, beforeContext({}))).rejects.toThrow(
      "request hook #0 beforeCall returned string; expected an object or nothing",
    );
  });
});

describe("runAfterCallHooks", () => {
  it("logs (scrubbed) and swallows hook errors; every hook still runs", async () => {
    const logger = recordingLogger();
    const ran: string[] = [];
    const hooks: RequestHooks[] = [
      {
        afterCall: async () => {
          ran.push("first");
          throw new Error("budget store down (x-api-key: abc123secret)");
        },
      },
      {
        afterCall: () => {
          ran.push("second");
          throw rejectCall(429, "too late to reject");
        },
      },
      { afterCall: () => void ran.push("third") },
    ];
    const context: AfterCallContext = { ...beforeContext({}), event: makeCallEvent() };
    await expect(runAfterCallHooks(hooks, context, { logger })).resolves.toBeUndefined();
    expect(ran).toEqual(["first", "second", "third"]);
    expect(
      logger.entries.map((entry) => [entry.level, entry.message, entry.fields?.hook, entry.fields?.error]),
    ).toEqual([
      ["error", "request hook afterCall failed", 0, "budget store down (x-api-key: [REDACTED])"],
      ["error", "request hook afterCall failed", 1, "CallRejection: too late to reject"],
    ]);
  });
});
