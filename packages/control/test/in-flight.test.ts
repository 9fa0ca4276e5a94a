/**
 * A call's hold (budget held, parallel slot) goes from its beforeCall to its afterCall on the call's
 * hook state (BeforeCallContext.state) — or by call id when the gateway gives none (an older
 * @llmux/core) — and a call whose afterCall never comes gives its hold back at the sweep, once.
 */
import type { AfterCallContext, BeforeCallContext, PluginAccess } from "@llmux/callbacks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Enforcer } from "../src/enforce/enforcer";
import { RecordCache } from "../src/enforce/record-cache";
import { type ControlStore, hashKey, openStore } from "../src/index";
import { MemoryCounters } from "../src/memory-counters";
import { SpendWriter } from "../src/spend/spend-writer";
import { hookContext, successEvent } from "./call-events";

const KEY = "sk-in-flight-key-with-one-parallel-call-0123456789";
const MINUTE = 60_000;
let store: ControlStore;
let writer: SpendWriter;
let clock = Date.parse("2026-12-07T06:00:00Z");
const now = () => clock;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

beforeAll(async () => {
  store = await openStore({ dataDir: "memory://" });
  await store.insert("key", {
    token: hashKey(KEY),
    key_name: "sk-...6789",
    key_alias: "one-at-a-time",
    max_parallel_requests: 1,
  });
  writer = new SpendWriter(store, { flushIntervalMs: 60_000 });
});

afterAll(async () => {
  await writer.close();
  await store.close();
});

function newEnforcer(): Enforcer {
  const cache = new RecordCache(store, { ttlMs: 10 * MINUTE, now });
  return new Enforcer({ cache, writer, state: new MemoryCounters(now), logger: silent, now });
}

async function accessOf(enforcer: Enforcer): Promise<PluginAccess> {
  const access = await enforcer.authenticate(KEY);
  if (!access) throw new Error("the test key was not found");
  return access;
}

/** A call's context as the gateway hands it to the hooks; `withState: false` as an older core does. */
function callContext(callId: string, access: PluginAccess, withState = true): BeforeCallContext {
  return hookContext(callId, access, { withState });
}

function finished(context: BeforeCallContext, cost = 0.01): AfterCallContext {
  // the gateway's afterCall context: a new object with the same per-call state
  return { ...context, event: successEvent(context.callId, cost, clock) } as unknown as AfterCallContext;
}

describe.each([
  ["on the call's hook state", true],
  ["by call id (a gateway without hook state)", false],
])("a call's hold, %s", (_label, withState) => {
  it("holds the parallel slot from beforeCall to afterCall, then frees it", async () => {
    const enforcer = newEnforcer();
    const access = await accessOf(enforcer);
    const first = callContext("first", access, withState);
    expect(enforcer.beforeCall(first)).toBeUndefined();
    if (withState) expect(first.state.control).toBeDefined();
    // sent: a second call while the first runs; back: 429 naming the limit
    expect(() => enforcer.beforeCall(callContext("second", access, withState))).toThrow(
      /Max parallel request limit reached for api_key: one-at-a-time. Current: 1, max_parallel_requests: 1/,
    );
    enforcer.afterCall(finished(first));
    if (withState) expect(first.state.control).toBeUndefined();
    const third = callContext("third", access, withState);
    expect(enforcer.beforeCall(third)).toBeUndefined();
    enforcer.afterCall(finished(third));
  });

  it("an abandoned call's hold is given back by the sweep, once: its late afterCall frees nothing", async () => {
    const enforcer = newEnforcer();
    const access = await accessOf(enforcer);
    const abandoned = callContext("abandoned", access, withState);
    expect(enforcer.beforeCall(abandoned)).toBeUndefined();
    // younger than the sweep's age: kept
    clock += 5 * MINUTE;
    enforcer.sweep();
    expect(() => enforcer.beforeCall(callContext("too-soon", access, withState))).toThrow(
      /Max parallel request limit reached/,
    );
    clock += 6 * MINUTE;
    enforcer.sweep();
    const next = callContext("next", access, withState);
    expect(enforcer.beforeCall(next)).toBeUndefined();
    // the abandoned call ends after all: its hold was given back already, so `next` keeps its slot;
    // its spend still counts for the key on both paths (its row names the key, from the hold or, when
    // the sweep forgot the call's id, from its access)
    const pendingBefore = writer.pending("key", hashKey(KEY));
    enforcer.afterCall(finished(abandoned, 0.5));
    expect(writer.pending("key", hashKey(KEY)) - pendingBefore).toBeCloseTo(0.5, 10);
    expect(() => enforcer.beforeCall(callContext("while-next-runs", access, withState))).toThrow(
      /Max parallel request limit reached/,
    );
    enforcer.afterCall(finished(next));
    expect(enforcer.beforeCall(callContext("after-next", access, withState))).toBeUndefined();
  });
});
