/**
 * The reference app's own `POST /api/summarize`, which calls the gateway in-process (createGatewayClient):
 * no HTTP hop, the same upstream, router and callback events as /v1.
 */
import type { CallbackSink, CallEvent } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReferenceApp } from "../src/app";

const UPSTREAM_KEY = "sk-upstream-summarize-abcdef";
const MASTER_KEY = "sk-master-summarize-0123456789";
let mock: MockProvider;
let app: Awaited<ReturnType<typeof startReferenceApp>>;
const events: CallEvent[] = [];
const sink: CallbackSink = { name: "memory", onSuccess: (event) => void events.push(event) };

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startReferenceApp({
    config: {
      model_list: [
        {
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1`, api_key: UPSTREAM_KEY },
        },
      ],
      general_settings: { master_key: MASTER_KEY },
    },
    summaryModel: "gpt-4o",
    sinks: [sink],
    quietOpenWarning: true,
  });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

describe("POST /api/summarize", () => {
  it("refuses a caller without the key (or with a wrong one): no model is called", async () => {
    mock.clear();
    for (const headers of [{}, { authorization: "Bearer sk-wrong" }] as Array<Record<string, string>>) {
      const response = await fetch(`${app.url}/api/summarize`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ text: "anyone may call models?" }),
      });
      expect(response.status).toBe(401);
    }
    expect(mock.requests).toHaveLength(0);
  });

  it("sets request and header timeouts on the server (slow-drip bodies are not held for 300 s)", () => {
    expect(app.server.requestTimeout).toBe(30_000);
    expect(app.server.headersTimeout).toBe(10_000);
  });

  it("calls the gateway in-process: the upstream gets the text, the caller a summary, call id and cost", async () => {
    const response = await fetch(`${app.url}/api/summarize`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-llmux-session-id": "express-session",
        authorization: `Bearer ${MASTER_KEY}`,
      },
      body: JSON.stringify({ text: "Express is a minimal web framework." }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { summary: string; model: string; callId: string; cost: number };
    expect(body.summary).toMatch(/\w+/);
    expect(body.model).toBe("gpt-4o");
    expect(body.cost).toBeGreaterThan(0);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(upstream!.body.messages[1]).toEqual({
      role: "user",
      content: "Express is a minimal web framework.",
    });
    await app.gateway.flush();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ callId: body.callId, session: "express-session", tags: ["summarize"] });
  });

  it("without text → the host's own 400, no upstream call", async () => {
    mock.clear();
    const response = await fetch(`${app.url}/api/summarize`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(mock.requests).toHaveLength(0);
  });
});
