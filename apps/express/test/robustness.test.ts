/**
 * Regression tests for defects found in review: each scenario once leaked a slot, hung, cooled a
 * healthy deployment or mis-reported a header.
 */
import type { LlmuxPlugin } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ReferenceAppOptions, startReferenceApp } from "../src/app";

let mock: MockProvider;
const apps: Array<Awaited<ReturnType<typeof startReferenceApp>>> = [];
beforeAll(async () => {
  mock = await startMockProvider();
});
afterEach(async () => {
  while (apps.length > 0) await apps.pop()!.close();
  mock.clear();
});
afterAll(async () => {
  await mock?.close();
});

async function start(
  group: string,
  router: Record<string, unknown> = {},
  extra: Partial<ReferenceAppOptions> = {},
) {
  const app = await startReferenceApp({
    config: {
      model_list: [
        {
          model_name: group,
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: `${mock.scenarioUrl("r")}/v1`,
            api_key: "sk-test",
            max_parallel_requests: 1,
          },
        },
      ],
      router_settings: {
        num_retries: 1,
        retry_after: 0.01,
        cooldown_time: 30,
        allowed_fails: 3,
        max_parallel_wait: 0.2,
        ...router,
      },
    },
    quietOpenWarning: true,
    ...extra,
  });
  apps.push(app);
  return { app, client: new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 }) };
}

describe("review regressions", () => {
  it("a client that leaves while a beforeCall hook runs never reaches the upstream", async () => {
    const { app } = await start(
      "m",
      {},
      { hooks: [{ beforeCall: () => new Promise((resolve) => setTimeout(resolve, 300)) }] },
    );
    const controller = new AbortController();
    const request = fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
      signal: controller.signal,
    }).catch(() => undefined);
    setTimeout(() => controller.abort(), 100);
    await request;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(mock.requests).toHaveLength(0);
  });

  it("a non-ASCII model group streams (header percent-encoded) and releases its slot", async () => {
    const { app, client } = await start("模型");
    const { data: stream, response } = await client.chat.completions
      .create({ model: "模型", stream: true, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    expect(decodeURIComponent(response.headers.get("x-llmux-model-group")!)).toBe("模型");
    expect(app.gateway.router.inFlight("模型-0")).toBe(0);
  });

  it("a tracer that throws in startAttempt neither fails the call nor leaks the slot", async () => {
    const tracer: LlmuxPlugin = {
      name: "broken-tracer",
      tracer: {
        startCall: () => ({
          traceId: "0".repeat(32),
          spanId: "0".repeat(16),
          startAttempt: () => {
            throw new Error("tracer bug");
          },
          end: () => undefined,
        }),
      },
    };
    const { app, client } = await start("m", {}, { plugins: [tracer] });
    for (let index = 0; index < 3; index++) {
      const result = await client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(result.choices).toHaveLength(1);
    }
    expect(app.gateway.router.inFlight("m-0")).toBe(0);
  });

  it("timeouts a caller chose (x-llmux-timeout) do not cool the shared deployment", async () => {
    const { app, client } = await start("m", { num_retries: 0, allowed_fails: 2 });
    mock.scenario("r", { latencyMs: 200 });
    for (let index = 0; index < 3; index++) {
      const error = await client.chat.completions
        .create(
          { model: "m", messages: [{ role: "user", content: "hi" }] },
          { headers: { "x-llmux-timeout": "0.05" } },
        )
        .catch((caught) => caught);
      expect(error.status).toBe(504);
    }
    expect(app.gateway.readiness().cooling).toEqual([]);
    const ok = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(ok.choices).toHaveLength(1);
  });

  it("a 429 on a single-deployment group reaches the client as 429, not a generic 503", async () => {
    const { client } = await start("m", { num_retries: 1 });
    mock.scenario("r", { status: 429 });
    const error = await client.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught);
    expect(error.status).toBe(429);
    expect(error.error.type).toBe("rate_limit_error");
  });

  it("the whole-call timeout still applies after the first chunk of a stream", async () => {
    const { client } = await start("m");
    mock.scenario("r", { chunkDelayMs: 300 });
    const started = Date.now();
    const stream = await client.chat.completions.create(
      { model: "m", stream: true, messages: [{ role: "user", content: "a long trickle" }] },
      { headers: { "x-llmux-timeout": "1" } },
    );
    let failure: unknown;
    try {
      for await (const _chunk of stream) {
        // consume
      }
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).toMatch(/timeout/i);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("x-llmux-overhead-ms of a stream does not count the upstream's time to first chunk", async () => {
    const { client } = await start("m");
    mock.scenario("r", { firstChunkDelayMs: 400 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    for await (const _chunk of stream) {
      // consume
    }
    expect(Number(response.headers.get("x-llmux-overhead-ms"))).toBeLessThan(100);
  });
});
