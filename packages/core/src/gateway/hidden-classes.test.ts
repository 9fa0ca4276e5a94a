/**
 * What the call path gives V8's hidden classes (maps). On Node 20 (V8 11.3) a key added to a spread copy
 * (`{ ...record, callId }`) or to an object whose prototype the host changed (Express does, per request)
 * never takes a shared transition: every call makes a new map, copying its descriptors (1-2 µs, and
 * garbage only a full collection frees). These tests cover the places found so far (with
 * apps/bench/micro/hidden-class-churn.mjs): the attempt event, the call id kept beside the response, and
 * `copyWith`, the routes' request copies. On Node 20 each fails when its place is written the old way; on
 * Node 24 spread copies are cheap, and the first and last pass either way there.
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
import { copyWith } from "./copy-with";
import { upstreamBody } from "./request-params";

function natives<F>(parameters: string[], body: string): F {
  try {
    return new Function(...parameters, body) as F;
  } catch (error) {
    throw new Error(
      `hidden-classes.test.ts needs node --allow-natives-syntax (vitest.config.ts execArgv): ${error}`,
    );
  }
}

/** Whether two objects have the same V8 hidden class. */
const sameMap = natives<(a: object, b: object) => boolean>(["a", "b"], "return %HaveSameMap(a, b);");
/** Whether an object keeps fast properties (not a dictionary, as a `delete` makes it). */
const fastProperties = natives<(a: object) => boolean>(["a"], "return %HasFastProperties(a);");

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
    const sameMaps = attempts.map((event) => sameMap(attempts[0]!, event));
    expect(sameMaps).toEqual(Array(CALLS).fill(true));
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

  it("copies with an added key share one shape, and keep the spread's keys, order and values", () => {
    // the routes' request copies: a parsed JSON body, copied (`{ ...body }`), then `stream` added
    const copies = Array.from({ length: CALLS }, (_, index) => {
      const body = { ...(JSON.parse(`{"model":"m","max_tokens":${index},"messages":[]}`) as object) };
      return copyWith(body as Record<string, unknown>, { stream: true });
    });
    expect(copies.map((copy) => sameMap(copies[0]!, copy))).toEqual(Array(CALLS).fill(true));
    expect(copies[7]).toEqual({ model: "m", max_tokens: 7, messages: [], stream: true });
    expect(Object.keys(copies[7]!)).toEqual(["model", "max_tokens", "messages", "stream"]);
    // a key the source has keeps its place and takes the addition's value, as in a spread
    const replaced = copyWith({ stream: false, model: "m" } as Record<string, unknown>, { stream: true });
    expect(Object.entries(replaced)).toEqual([
      ["stream", true],
      ["model", "m"],
    ]);
    // a parsed body's "__proto__" key stays an own key (as the spread defines it), not the copy's prototype
    const hostile = copyWith(
      JSON.parse('{"__proto__":{"polluted":true},"model":"m"}') as Record<string, unknown>,
      {
        stream: true,
      },
    );
    expect(Object.getPrototypeOf(hostile)).toBe(Object.prototype);
    expect((hostile as { polluted?: boolean }).polluted).toBeUndefined();
    expect(JSON.stringify(hostile)).toBe('{"__proto__":{"polluted":true},"model":"m","stream":true}');
  });

  it("a body without its gateway keys keeps fast properties and one shape, the other keys in order", () => {
    // sent: LiteLLM-style bodies with gateway keys (metadata, as Claude Code sends on every call)
    const bodies = Array.from({ length: CALLS }, (_, index) =>
      upstreamBody(
        JSON.parse(
          `{"model":"m","metadata":{"user_id":"u${index}"},"max_tokens":${index},"num_retries":2,"messages":[]}`,
        ) as Record<string, unknown>,
      ),
    );
    // came back: copies without the gateway keys, fast, all of one map
    expect(bodies.map((body) => fastProperties(body))).toEqual(Array(CALLS).fill(true));
    expect(bodies.map((body) => sameMap(bodies[0]!, body))).toEqual(Array(CALLS).fill(true));
    expect(Object.keys(bodies[5]!)).toEqual(["model", "max_tokens", "messages"]);
    expect(bodies[5]).toEqual({ model: "m", max_tokens: 5, messages: [] });
    // a body without gateway keys is not copied
    const plain = { model: "m", messages: [] };
    expect(upstreamBody(plain)).toBe(plain);
  });
});
