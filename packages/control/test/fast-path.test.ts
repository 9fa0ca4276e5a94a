/**
 * The per-call checks cost no promise when the identities are cached (issue 12's benchmark bound): the
 * plugin's authenticate and beforeCall answer synchronously on a cached key, with its rate limits too
 * when the limit counters are in process, and go asynchronous only for what needs it (a first load from
 * the database, a limit counted in a shared state such as Redis).
 */
import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import type { PluginSharedState } from "@llmux/callbacks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, type ControlStore, createControlPlane, hashKey, openStore } from "../src/index";
import { MemoryCounters } from "../src/memory-counters";
import { hookContext, successEvent } from "./call-events";

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

const beforeContext = (callId: string, access: unknown) => hookContext(callId, access);

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

  it("authenticate: the gateway's keyHash (the token's SHA-256 hex) finds the key without hashing again", async () => {
    await plane.authenticate!(PLAIN_KEY, request());
    // sent: the key with its hash, as core passes it; back: the same access as from the key alone
    const withHash = plane.authenticate!(PLAIN_KEY, request(), hashKey(PLAIN_KEY));
    expect(withHash).not.toBeInstanceOf(Promise);
    expect(withHash).toEqual(plane.authenticate!(PLAIN_KEY, request()));
    expect((withHash as Awaited<typeof withHash>)?.context?.metadata).toMatchObject({
      user_api_key_hash: hashKey(PLAIN_KEY),
    });
  });

  it("beforeCall: synchronous for a cached key, with an rpm limit too (counters in process)", async () => {
    const access = plane.authenticate!(PLAIN_KEY, request());
    const context = beforeContext("call-plain", access);
    expect(plane.hooks!.beforeCall!(context)).toBeUndefined();
    expect(context.context.metadata.user_api_key_max_budget).toBe(100);

    const limited = await plane.authenticate!(LIMITED_KEY, request());
    expect(plane.hooks!.beforeCall!(beforeContext("call-limited", limited))).toBeUndefined();
  });

  it("an rpm limit refuses synchronously past the limit, and a shared state (Redis) takes a promise", async () => {
    const key = "sk-fast-path-key-with-an-rpm-of-two-0123456789";
    await store.insert("key", { token: hashKey(key), key_name: "sk-...6789", rpm_limit: 2 });
    const access = await plane.authenticate!(key, request());
    expect(plane.hooks!.beforeCall!(beforeContext("rpm-1", access))).toBeUndefined();
    expect(plane.hooks!.beforeCall!(beforeContext("rpm-2", access))).toBeUndefined();
    expect(() => plane.hooks!.beforeCall!(beforeContext("rpm-3", access))).toThrow(
      /Limit type: requests. Current usage: 2, limit: 2/,
    );

    // The same counters behind a state that is not this process's (as Redis): one promise for them.
    const counters = new MemoryCounters();
    const shared: PluginSharedState = {
      kind: "shared-for-test",
      incrWindow: (...args) => counters.incrWindow(...args),
      getWindow: (...args) => counters.getWindow(...args),
      tryIncrWindow: (...args) => counters.tryIncrWindow(...args),
      acquire: (...args) => counters.acquire(...args),
      release: (...args) => counters.release(...args),
    };
    const sharedPlane = await createControlPlane({ store, sharedState: shared });
    try {
      const other = await sharedPlane.authenticate!(LIMITED_KEY, request());
      const outcome = sharedPlane.hooks!.beforeCall!(beforeContext("call-shared", other));
      expect(outcome).toBeInstanceOf(Promise);
      await expect(outcome).resolves.toBeUndefined();
      expect(await counters.getWindow(`llmux:control:rpm:key:${hashKey(LIMITED_KEY)}`, 60_000)).toBe(1);
    } finally {
      await sharedPlane.shutdown?.();
    }
  });

  it("a spend write keeps the key's cached record and access (a copy per write deoptimised the checks)", async () => {
    const key = "sk-fast-path-key-spend-written-in-place-0123456789";
    await store.insert("key", { token: hashKey(key), key_name: "sk-...6789", max_budget: 100 });
    const access = await plane.authenticate!(key, request());
    const before = beforeContext("call-written", access);
    plane.hooks!.beforeCall!(before);
    plane.hooks!.afterCall!({ ...before, event: successEvent("call-written", 0.25) } as never);
    await plane.flushSpend();
    // sent: the same key after its spend was committed; back: the very same access object (the key's
    // record was updated in place, not replaced by a copy with another hidden class), and the spend
    // counts once (committed 0.25, nothing pending).
    const after = plane.authenticate!(key, request());
    expect(after).toBe(access);
    const context = beforeContext("call-after-write", after);
    plane.hooks!.beforeCall!(context);
    expect(context.context.metadata.user_api_key_spend).toBeCloseTo(0.25, 10);
    expect((await store.get("key", hashKey(key)))?.spend).toBeCloseTo(0.25, 10);
  });

  it("a spent budget is refused synchronously too (the call never starts)", () => {
    const access = plane.authenticate!(PLAIN_KEY, request());
    const previous = beforeContext("call-over-previous", access);
    expect(plane.hooks!.beforeCall!(previous)).toBeUndefined();
    plane.hooks!.afterCall!({ ...previous, event: successEvent("call-over-previous", 150) } as never);
    const context = beforeContext("call-over", access);
    expect(() => plane.hooks!.beforeCall!(context)).toThrow(/Budget has been exceeded/);
    // A look-alike (a copy of the access, or another plugin's) names no key of this plane: the call is
    // checked as a host identity without a user or team, so the key's spent budget does not apply.
    const copy = { ...(access as object) };
    expect(plane.hooks!.beforeCall!(beforeContext("call-look-alike", copy))).toBeUndefined();
    plane.hooks!.afterCall!({
      ...beforeContext("call-look-alike", copy),
      event: successEvent("call-look-alike", 0),
    } as never);
  });
});
