/**
 * The gateway's own time (`timings.overheadMs` of the call event, exported as `llmux.overhead_ms`
 * and MLflow's `overhead_ms`) is rounded to two decimals like the `x-llmux-overhead-ms` header,
 * also when the call retried: the router's backoff waits are jittered, so without rounding a
 * failing call reported values such as 3.1234567.
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

let mock: MockProvider;
let app: TestGateway;

function hasTwoDecimalsAtMost(value: number): boolean {
  return Math.abs(value * 100 - Math.round(value * 100)) < 1e-9;
}

beforeAll(async () => {
  mock = await startMockProvider();
  mock.scenario("down", { status: 500 });
  app = await startTestGateway(
    {
      model_list: [
        {
          model_name: "broken",
          litellm_params: {
            model: "openai/gpt-4o-mini",
            api_key: "sk-test",
            api_base: `${mock.scenarioUrl("down")}/v1`,
          },
        },
      ],
      // two retries, each after a jittered wait of 1 + 0.123456789 × 1 (then × 2) ms
      router_settings: { num_retries: 2, retry_after: 0.001, allowed_fails: 100 },
    },
    { random: () => 0.123456789 },
  );
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

describe("overhead of a failing call", () => {
  it("is rounded to two decimals in the call event and the header", async () => {
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "broken", messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(response.status).toBeGreaterThanOrEqual(500);
    await response.text();
    const header = response.headers.get("x-llmux-overhead-ms");
    expect(header).toMatch(/^\d+\.\d{2}$/);
    const events = await app.flushEvents();
    const event = events.find((candidate) => candidate.callId === response.headers.get("x-llmux-call-id"));
    expect(event?.status).toBe("failure");
    expect(event?.attempts).toHaveLength(3);
    const overhead = event?.timings.overheadMs ?? Number.NaN;
    console.log(`[overhead] failing call: event ${overhead} ms, header ${header} ms`);
    expect(overhead).toBeGreaterThanOrEqual(0);
    expect(hasTwoDecimalsAtMost(overhead)).toBe(true);
  });
});
