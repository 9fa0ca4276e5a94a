/**
 * What the call path gives V8's hidden classes (maps). On Node 20 (V8 11.3) a key added to a spread copy
 * (`{ ...record, callId }`) or to an object whose prototype the host changed (Express does, per request)
 * never takes a shared transition: every call makes a new map, copying its descriptors (1-2 µs, and
 * garbage only a full collection frees). These tests fail on Node 20 when the call path does either; on
 * Node 24 the spread copy is cheap, and the first test passes either way there.
 * Needs `--allow-natives-syntax` (this package's vitest.config.ts).
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { AttemptEvent, CallbackSink } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rememberCallId, withCallId } from "../http/call-id-header";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

/** Whether two objects have the same V8 hidden class. */
const sameMap = new Function("a", "b", "return %HaveSameMap(a, b);") as (a: object, b: object) => boolean;

const CALLS = 60;

describe("hidden classes on the call path", () => {
  let mock: MockProvider;
  let app: TestGateway;
  const attempts: AttemptEvent[] = [];

  beforeAll(async () => {
    mock = await startMockProvider();
    const sink: CallbackSink = { name: "attempts", onAttempt: (event) => void attempts.push(event) };
    app = await startTestGateway(
      {
        model_list: [
          {
            model_name: "gpt",
            litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1`, api_key: "sk-upstream" },
          },
        ],
      },
      { sinks: [sink] },
    );
  });

  afterAll(async () => {
    await app?.close();
    await mock?.close();
  });

  it("every call's attempt event has the same shape (one literal, not a spread copy plus the call id)", async () => {
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "sk-any", maxRetries: 0 });
    // V8 11.3 turns to a new map per copy once the site has run a while (the 23rd call here): sixty calls
    for (let index = 0; index < CALLS; index++) {
      const completion = await client.chat.completions.create({
        model: "gpt",
        messages: [{ role: "user", content: `call ${index}` }],
      });
      expect(completion.choices[0]?.message.role).toBe("assistant");
    }
    await app.flushEvents();
    // sent: sixty chat completions; came back: sixty attempt events, one per call, all of one map
    expect(attempts.map((event) => event.outcome)).toEqual(Array(CALLS).fill("success"));
    expect(new Set(attempts.map((event) => event.callId)).size).toBe(CALLS);
    expect(attempts[0]?.apiBase).toBe(new URL(mock.url).origin);
    const maps = attempts.map((event) => sameMap(attempts[0]!, event));
    expect(maps).toEqual(Array(CALLS).fill(true));
  });

  it("remembering a call id adds nothing to the host's response object", () => {
    // Express gives each response its app's prototype; two such responses share a map until a key is added
    const appResponse = Object.create(ServerResponse.prototype) as object;
    const responses = [0, 1].map(() => {
      const response = new ServerResponse(new IncomingMessage(new Socket()));
      Object.setPrototypeOf(response, appResponse);
      return response;
    });
    const [first, second] = responses as [ServerResponse, ServerResponse];
    const keysBefore = Reflect.ownKeys(first);
    expect(sameMap(first, second)).toBe(true);
    rememberCallId(first, "call-1");
    rememberCallId(second, "call-2");
    expect(Reflect.ownKeys(first)).toEqual(keysBefore);
    expect(sameMap(first, second)).toBe(true);
    expect(withCallId(first, { "content-type": "application/json" })).toEqual({
      "content-type": "application/json",
      "x-llmux-call-id": "call-1",
    });
    expect(withCallId(second, {})).toEqual({ "x-llmux-call-id": "call-2" });
    // a response no call was prepared on gets no id
    expect(withCallId(new ServerResponse(new IncomingMessage(new Socket())), {})).toEqual({});
  });
});
