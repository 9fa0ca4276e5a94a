/**
 * The per-call checks cost no promise when the identities are cached (issue 12's benchmark bound): the
 * plugin's authenticate and beforeCall answer synchronously on a cached key without rate limits, and
 * go asynchronous only for what needs it (a first load from the database, an rpm limit).
 */
import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import type { BeforeCallContext } from "@llmux/callbacks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, type ControlStore, createControlPlane, hashKey, openStore } from "../src/index";

const PLAIN_KEY = "sk-fast-path-key-without-limits-0123456789";
const LIMITED_KEY = "sk-fast-path-key-with-an-rpm-limit-0123456789";
let store: ControlStore;
let plane: ControlPlane;

beforeAll(async () => {
  store = await openStore({ dataDir: "memory://" });
  await store.insert("key", { token: hashKey(PLAIN_KEY), key_name: "sk-...6789", max_budget: 100 });
  await store.insert("key", { token: hashKey(LIMITED_KEY), key_name: "sk-...6789", rpm_limit: 1_000 });
  plane = await createControlPlane({ store });
});

afterAll(async () => {
  await plane.shutdown?.();
  await store.close();
});

function request(): IncomingMessage {
  return new IncomingMessage(new Socket());
}

function beforeContext(callId: string, incoming: IncomingMessage): BeforeCallContext {
  return {
    callId,
    callType: "chat",
    modelGroup: "gpt-4o",
    body: { model: "gpt-4o", messages: [] },
    context: { metadata: {}, tags: [] },
    request: incoming,
  } as unknown as BeforeCallContext;
}

describe("cached identities are checked without promises", () => {
  it("authenticate: a promise for the first load, the access itself once the key is cached", async () => {
    const first = plane.authenticate!(PLAIN_KEY, request());
    expect(first).toBeInstanceOf(Promise);
    const access = await first;
    expect(access?.context?.metadata).toMatchObject({ user_api_key_hash: hashKey(PLAIN_KEY) });
    const second = plane.authenticate!(PLAIN_KEY, request());
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toEqual(access);
  });

  it("beforeCall: synchronous for a cached key without limits, a promise with an rpm limit", async () => {
    const incoming = request();
    plane.authenticate!(PLAIN_KEY, incoming);
    const context = beforeContext("call-plain", incoming);
    expect(plane.hooks!.beforeCall!(context)).toBeUndefined();
    expect(context.context.metadata.user_api_key_max_budget).toBe(100);

    const limited = request();
    await plane.authenticate!(LIMITED_KEY, limited);
    const outcome = plane.hooks!.beforeCall!(beforeContext("call-limited", limited));
    expect(outcome).toBeInstanceOf(Promise);
    await expect(outcome).resolves.toBeUndefined();
  });

  it("a spent budget is refused synchronously too (the call never starts)", () => {
    const incoming = request();
    plane.authenticate!(PLAIN_KEY, incoming);
    const previous = beforeContext("call-over-previous", incoming);
    expect(plane.hooks!.beforeCall!(previous)).toBeUndefined();
    plane.hooks!.afterCall!({
      ...previous,
      event: {
        callId: "call-over-previous",
        callType: "chat",
        status: "success",
        modelGroup: "gpt-4o",
        requestedModel: "gpt-4o",
        tags: [],
        cost: { total: 150 },
        timings: { startTime: Date.now(), endTime: Date.now(), durationMs: 1 },
      },
    } as never);
    const context = beforeContext("call-over", incoming);
    expect(() => plane.hooks!.beforeCall!(context)).toThrow(/Budget has been exceeded/);
  });
});
