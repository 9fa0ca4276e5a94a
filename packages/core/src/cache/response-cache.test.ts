/**
 * The response cache end to end with the in-process LRU (litellm_settings.cache: true): a real gateway on
 * port 0, the @llmux/testing mock as upstream, calls with fetch. Each test says what was sent, what reached
 * the mock and what came back.
 */
import Anthropic from "@anthropic-ai/sdk";
import { makeUsage, type Usage } from "@llmux/pricing";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { replayedSse, replayStreamItems } from "../gateway/cache-replay";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";
import type { StreamItem } from "../providers/types";
import { MemoryCacheStore } from "./cache-store";
import { hitBody } from "./hit-body";
import { type CacheEntry, canonicalJson, ResponseCache } from "./response-cache";

const UPSTREAM_KEY = "sk-upstream-cache-0123456789";
let mock: MockProvider;
let app: TestGateway;

function config(litellm: Record<string, unknown>) {
  return {
    model_list: [
      {
        model_name: "gpt",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `${mock.scenarioUrl("cache")}/v1`,
          api_key: UPSTREAM_KEY,
          input_cost_per_token: 0.000001,
          output_cost_per_token: 0.000002,
        },
        model_info: { id: "gpt-one" },
      },
      {
        model_name: "claude",
        litellm_params: {
          model: "anthropic/claude-sonnet-4-5",
          api_base: mock.scenarioUrl("cache"),
          api_key: UPSTREAM_KEY,
          input_cost_per_token: 0.000003,
          output_cost_per_token: 0.000015,
        },
        model_info: { id: "claude-one" },
      },
    ],
    router_settings: { model_group_alias: { "gpt-alias": "gpt" } },
    litellm_settings: litellm,
  };
}

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startTestGateway(config({ cache: true, cache_params: { type: "local", ttl: 60 } }));
});
afterAll(async () => {
  await app.close();
  await mock.close();
});
beforeEach(() => {
  mock.clear();
  app.events.length = 0;
});

const upstreamCalls = () => mock.requests.filter((request) => request.path === "/v1/chat/completions").length;

async function post(body: Record<string, unknown>, base = app.url) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { response, text: await response.text() };
}

describe("response cache (local LRU)", () => {
  it("a repeated call is a hit: same answer, no upstream call, x-llmux-cache hit, cost 0 and the saving recorded", async () => {
    const body = { model: "gpt", messages: [{ role: "user", content: "cache me 1" }], temperature: 0 };
    const first = await post(body);
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get("x-llmux-cache")).toBe("miss");
    const paid = Number(first.response.headers.get("x-llmux-response-cost"));
    expect(paid).toBeGreaterThan(0);
    // the key order of the body and an alias of the same group do not matter
    const second = await post({ temperature: 0, messages: body.messages, model: "gpt-alias" });
    expect(second.response.status).toBe(200);
    expect(second.response.headers.get("x-llmux-cache")).toBe("hit");
    expect(second.response.headers.get("x-llmux-response-cost")).toBe("0");
    expect(Number(second.response.headers.get("x-llmux-cache-saved-cost"))).toBeCloseTo(paid, 12);
    expect(JSON.parse(second.text).choices).toEqual(JSON.parse(first.text).choices);
    expect(upstreamCalls()).toBe(1);
    const events = await app.flushEvents();
    expect(events.map((event) => event.cacheHit)).toEqual([false, true]);
    const hit = events[1]!;
    expect(hit.status).toBe("success");
    expect(hit.cost?.total).toBe(0);
    expect(hit.cacheSavedCost).toBeCloseTo(paid, 12);
    expect(hit.attempts).toEqual([]);
    expect(hit.deploymentId).toBe("gpt-one");
    expect(hit.usage?.totalTokens).toBe(events[0]!.usage?.totalTokens);
  });

  it("a parameter that changes the output is another entry; metadata and user are not", async () => {
    const messages = [{ role: "user", content: "cache me 2" }];
    await post({ model: "gpt", messages, temperature: 0 });
    const other = await post({ model: "gpt", messages, temperature: 1 });
    expect(other.response.headers.get("x-llmux-cache")).toBe("miss");
    const same = await post({ model: "gpt", messages, temperature: 0, user: "u1", metadata: { a: 1 } });
    expect(same.response.headers.get("x-llmux-cache")).toBe("hit");
    expect(upstreamCalls()).toBe(2);
  });

  it('per-request controls: {"no-cache"} goes upstream, {"no-store"} stores nothing; `cache` never reaches the upstream', async () => {
    const messages = [{ role: "user", content: "cache me 3" }];
    const noStore = await post({ model: "gpt", messages, cache: { "no-store": true } });
    expect(noStore.response.headers.get("x-llmux-cache")).toBe("miss");
    const afterNoStore = await post({ model: "gpt", messages });
    expect(afterNoStore.response.headers.get("x-llmux-cache")).toBe("miss");
    const hit = await post({ model: "gpt", messages });
    expect(hit.response.headers.get("x-llmux-cache")).toBe("hit");
    const noCache = await post({ model: "gpt", messages, cache: { "no-cache": true } });
    expect(noCache.response.headers.get("x-llmux-cache")).toBe("miss");
    expect(upstreamCalls()).toBe(3);
    expect(mock.requests.every((request) => request.body?.cache === undefined)).toBe(true);
  });

  it("a streamed call is replayed as SSE with the same chunks; include_usage shows a usage chunk costing 0", async () => {
    const body = {
      model: "gpt",
      messages: [{ role: "user", content: "stream me" }],
      stream: true,
      stream_options: { include_usage: true },
    };
    const first = await post(body);
    expect(first.response.headers.get("content-type")).toContain("text/event-stream");
    expect(first.response.headers.get("x-llmux-cache")).toBe("miss");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await post(body);
    expect(second.response.headers.get("x-llmux-cache")).toBe("hit");
    expect(upstreamCalls()).toBe(1);
    const chunks = (text: string) =>
      text
        .split("\n\n")
        .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
        .map((line) => JSON.parse(line.slice(6)));
    const live = chunks(first.text);
    const replayed = chunks(second.text);
    expect(second.text.trim().endsWith("data: [DONE]")).toBe(true);
    expect(replayed.length).toBe(live.length);
    // same chunks, except the cost on the usage chunk (0 for a hit)
    const withoutCost = (list: Array<Record<string, unknown>>) =>
      list.map((chunk) =>
        chunk.usage ? { ...chunk, usage: { ...(chunk.usage as object), cost: undefined } } : chunk,
      );
    expect(withoutCost(replayed)).toEqual(withoutCost(live));
    expect(replayed.at(-1).usage.cost).toBe(0);
    expect(live.at(-1).usage.cost).toBeGreaterThan(0);
    const events = await app.flushEvents();
    expect(events.map((event) => [event.stream, event.cacheHit])).toEqual([
      [true, false],
      [true, true],
    ]);
  });

  it("embeddings are cached too: the second identical request is a hit", async () => {
    const embed = (input: string) =>
      fetch(`${app.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt", input }),
      });
    const first = await embed("vector me");
    const second = await embed("vector me");
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.headers.get("x-llmux-cache")).toBe("miss");
    expect(second.headers.get("x-llmux-cache")).toBe("hit");
    const data = async (response: Response) => ((await response.json()) as { data: unknown }).data;
    expect(await data(second)).toEqual(await data(first));
    expect(mock.requests.filter((request) => request.path === "/v1/embeddings").length).toBe(1);
  });

  it("a caller's own credentials are never cached (allow_client_side_credentials)", async () => {
    const cache = new ResponseCache({ store: new MemoryCacheStore(), ttlMs: 60_000 });
    const plan = cache.plan("chat", "gpt", { messages: [], api_key: "sk-callers-own" }, false);
    expect(plan).toBeUndefined();
  });
});

describe("response cache with turn_off_message_logging", () => {
  it("a hit's event carries no content (neither prompt nor cached answer)", async () => {
    const redacted = await startTestGateway(
      config({ cache: true, turn_off_message_logging: true }) as Parameters<typeof startTestGateway>[0],
    );
    try {
      const body = { model: "gpt", messages: [{ role: "user", content: "private prompt" }] };
      await post(body, redacted.url);
      const hit = await post(body, redacted.url);
      expect(hit.response.headers.get("x-llmux-cache")).toBe("hit");
      const events = await redacted.flushEvents();
      expect(events.map((event) => event.cacheHit)).toEqual([false, true]);
      for (const event of events) {
        expect(event.messages).toBeUndefined();
        expect(event.response).toBeUndefined();
        expect(JSON.stringify(event)).not.toContain("private prompt");
      }
    } finally {
      await redacted.close();
    }
  });
});

describe("ResponseCache keys", () => {
  const cache = new ResponseCache({ store: new MemoryCacheStore(), ttlMs: 60_000, namespace: "team-a" });
  it("hash the normalised request under the namespace, and never contain content or secrets", () => {
    const plan = cache.plan(
      "chat",
      "gpt",
      { model: "gpt", messages: [{ role: "user", content: "secret plan" }] },
      false,
    )!;
    expect(plan.key).toMatch(/^team-a:chat:[0-9a-f]{64}$/);
    expect(plan.key).not.toContain("secret");
    expect(plan.ttlMs).toBe(60_000);
    const withTtl = cache.plan("chat", "gpt", { messages: [], cache: { ttl: 5, "s-maxage": 2 } }, false)!;
    expect(withTtl.ttlMs).toBe(5_000);
    expect(withTtl.maxAgeMs).toBe(2_000);
    const streamed = cache.plan(
      "chat",
      "gpt",
      { model: "gpt", messages: [{ role: "user", content: "secret plan" }] },
      true,
    )!;
    expect(streamed.key).not.toBe(plan.key);
  });

  it("a streamed entry read again unchanged is parsed once; every hit replays copies of its own", async () => {
    const store = new MemoryCacheStore();
    const cache = new ResponseCache({ store, ttlMs: 60_000 });
    const plan = cache.plan("chat", "gpt", { messages: [{ role: "user", content: "x" }] }, true)!;
    const usage = makeUsage({ inputTokens: 3, outputTokens: 2 });
    const entry = (content: string): CacheEntry => ({
      v: 1,
      callType: "chat",
      createdAt: Date.now(),
      deploymentId: "gpt-one",
      usage,
      cost: 0.5,
      items: [
        { chunk: { id: "c", choices: [{ index: 0, delta: { content } }] } },
        { chunk: { id: "c", choices: [], usage: { prompt_tokens: 3 } }, usage, usageOnly: true },
      ],
    });
    cache.set(plan, entry("hello"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const first = (await cache.get(plan))!;
    expect(await cache.get(plan)).toBe(first);
    const present = (item: StreamItem, price: (usage: Usage) => number | null) =>
      item.usageOnly
        ? { chunk: { ...item.chunk, usage: { ...(item.chunk.usage as object), cost: price(item.usage!) } } }
        : item;
    const hitOne = replayStreamItems(first, true, present);
    const hitTwo = replayStreamItems(first, true, present);
    expect(hitOne.map((item) => item.raw)).toEqual([
      '{"id":"c","choices":[{"index":0,"delta":{"content":"hello"}}]}',
      '{"id":"c","choices":[],"usage":{"prompt_tokens":3,"cost":0}}',
    ]);
    // a caller that changes what it was given changes nothing for the next hit
    (hitOne[0]!.chunk.choices as Array<{ delta: { content: string } }>)[0]!.delta.content = "changed";
    expect(hitTwo[0]!.chunk).toEqual({ id: "c", choices: [{ index: 0, delta: { content: "hello" } }] });
    expect(hitTwo[0]).not.toBe(hitOne[0]);
    expect(replayStreamItems(first, false, (item) => (item.usageOnly ? undefined : item))).toHaveLength(1);
    // the chat route writes a hit whole: the same events as the items, then [DONE], built once per choice
    expect(replayedSse(first, true, present)).toBe(
      `${hitOne.map((item) => `data: ${item.raw}\n\n`).join("")}data: [DONE]\n\n`,
    );
    expect(replayedSse(first, false, present)).toBe(
      'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hello"}}]}\n\ndata: [DONE]\n\n',
    );
    // a new answer under the key is read anew
    cache.set(plan, entry("again"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = (await cache.get(plan))!;
    expect(second).not.toBe(first);
    expect(replayStreamItems(second, true, present)[0]!.raw).toContain('"again"');
  });

  it("a non-streamed entry is parsed once; each hit sends its text and parses a copy of its own only when read", async () => {
    const store = new MemoryCacheStore();
    const cache = new ResponseCache({ store, ttlMs: 60_000 });
    const plan = cache.plan("chat", "gpt", { messages: [{ role: "user", content: "b" }] }, false)!;
    const body = { id: "b", choices: [{ index: 0, message: { role: "assistant", content: "hello" } }] };
    cache.set(plan, {
      v: 1,
      callType: "chat",
      createdAt: Date.now(),
      deploymentId: "d",
      usage: null,
      cost: null,
      body,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const entry = (await cache.get(plan))!;
    expect(await cache.get(plan)).toBe(entry);
    const one = hitBody<typeof body>(entry);
    const two = hitBody<typeof body>(entry);
    expect(one.raw).toBe(JSON.stringify(body));
    expect(two.raw).toBe(one.raw);
    // a caller that changes what it was given changes nothing for the entry or the next hit
    one.body.choices[0]!.message.content = "changed";
    expect(one.body.choices[0]!.message.content).toBe("changed");
    expect(two.body).toEqual(body);
    expect(entry.body).toEqual(body);
    expect(hitBody(entry).raw).toBe(JSON.stringify(body));
  });

  it("canonicalJson: the same text whatever the key order; undefined members left out as JSON.stringify does", () => {
    const a = { b: [1, { y: 2, x: undefined, z: "s" }, undefined], a: { d: null, c: true } };
    const b = { a: { c: true, d: null }, b: [1, { z: "s", y: 2 }, undefined] };
    expect(canonicalJson(a)).toBe('{"a":{"c":true,"d":null},"b":[1,{"y":2,"z":"s"},null]}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(JSON.parse(canonicalJson(a))).toEqual(JSON.parse(JSON.stringify(a)));
    expect(canonicalJson({})).toBe("{}");
    expect(canonicalJson([])).toBe("[]");
    expect(canonicalJson({ only: undefined })).toBe("{}");
    expect(canonicalJson('q"uote')).toBe('"q\\"uote"');
  });

  it("a store that never answers is a miss after the deadline, counted", async () => {
    const slow = new ResponseCache({
      store: {
        kind: "hung",
        get: () => new Promise(() => undefined),
        set: async () => undefined,
        delete: async () => undefined,
      },
      ttlMs: 60_000,
      timeoutMs: 20,
    });
    const plan = slow.plan("chat", "gpt", { messages: [] }, false)!;
    expect(await slow.get(plan)).toBeUndefined();
    expect(slow.errorCount).toBe(1);
  });

  it("supported_call_types limits what is cached", () => {
    const chatOnly = new ResponseCache({
      store: new MemoryCacheStore(),
      ttlMs: 1,
      callTypes: new Set(["chat"]),
    });
    expect(chatOnly.plan("embeddings", "e", { input: "x" }, false)).toBeUndefined();
    expect(chatOnly.plan("messages", "claude", { messages: [] }, false)).toBeUndefined();
    expect(chatOnly.plan("chat", "gpt", { messages: [] }, false)).toBeDefined();
  });
});

describe("response cache on /v1/messages (Anthropic's API)", () => {
  const anthropic = () => new Anthropic({ apiKey: "unused", baseURL: app.url, maxRetries: 0 });
  const upstreamMessages = () =>
    mock.requests.filter((request) => ["/v1/messages", "/v1/chat/completions"].includes(request.path)).length;

  for (const model of ["claude", "gpt"]) {
    const how = model === "claude" ? "native Anthropic deployment" : "translated to an OpenAI deployment";
    it(`${how}: a repeated message is a hit (same message, no upstream call, cost 0, saving recorded)`, async () => {
      const body = {
        model,
        max_tokens: 64,
        messages: [{ role: "user" as const, content: `cache this message (${model})` }],
      };
      const first = await anthropic().messages.create(body).withResponse();
      expect(first.response.headers.get("x-llmux-cache")).toBe("miss");
      const paid = Number(first.response.headers.get("x-llmux-response-cost"));
      expect(paid).toBeGreaterThan(0);
      const second = await anthropic().messages.create(body).withResponse();
      expect(second.response.headers.get("x-llmux-cache")).toBe("hit");
      expect(second.response.headers.get("x-llmux-response-cost")).toBe("0");
      expect(Number(second.response.headers.get("x-llmux-cache-saved-cost"))).toBeCloseTo(paid, 12);
      expect(second.data).toEqual(first.data);
      expect(upstreamMessages()).toBe(1);
      const events = await app.flushEvents();
      expect(events.map((event) => [event.callType, event.cacheHit, event.cost?.total === 0])).toEqual([
        ["messages", false, false],
        ["messages", true, true],
      ]);
      expect(events[1]!.cacheSavedCost).toBeCloseTo(paid, 12);
    });

    it(`${how}: a repeated stream replays the same events, the final usage costing 0`, async () => {
      const body = {
        model,
        max_tokens: 64,
        stream: true as const,
        messages: [{ role: "user" as const, content: `stream this message (${model})` }],
      };
      const read = async () => {
        const { data: stream, response } = await anthropic().messages.create(body).withResponse();
        const events: Array<Record<string, unknown>> = [];
        for await (const event of stream) events.push(event as unknown as Record<string, unknown>);
        return { events, cache: response.headers.get("x-llmux-cache") };
      };
      const live = await read();
      expect(live.cache).toBe("miss");
      await app.flushEvents(); // the entry is stored when the live stream's call ends
      const replayed = await read();
      expect(replayed.cache).toBe("hit");
      expect(upstreamMessages()).toBe(1);
      const withoutCost = (events: Array<Record<string, unknown>>) =>
        events.map((event) =>
          event.usage ? { ...event, usage: { ...(event.usage as object), cost: undefined } } : event,
        );
      expect(withoutCost(replayed.events)).toEqual(withoutCost(live.events));
      expect(replayed.events.map((event) => event.type)).toContain("message_stop");
      const finalUsage = (events: Array<Record<string, unknown>>) =>
        events.find((event) => event.type === "message_delta")!.usage as { cost: number };
      expect(finalUsage(live.events).cost).toBeGreaterThan(0);
      expect(finalUsage(replayed.events).cost).toBe(0);
      const events = await app.flushEvents();
      expect(events.map((event) => [event.stream, event.cacheHit])).toEqual([
        [true, false],
        [true, true],
      ]);
    });
  }
});

describe("MemoryCacheStore", () => {
  it("evicts the least recently used entry past maxEntries and expires entries", async () => {
    let now = 0;
    const store = new MemoryCacheStore({ maxEntries: 2, now: () => now });
    await store.set("a", "1", 1_000);
    await store.set("b", "2", 1_000);
    await store.get("a"); // a is now more recent than b
    await store.set("c", "3", 1_000);
    expect(await store.get("b")).toBeUndefined();
    expect(await store.get("a")).toBe("1");
    now = 1_000;
    expect(await store.get("c")).toBeUndefined();
  });
});
