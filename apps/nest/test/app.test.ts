/**
 * The NestJS reference app end to end, on the Express and the Fastify platform (port 0; upstream = the @llmux/testing mock provider): the gateway at
 * /v1 through the official `openai` client, the host's own routes and middleware, the in-process
 * `POST /api/summarize`, health, Prometheus metrics, and a graceful close that lets a stream finish.
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startReferenceApp } from "../src/app";

const MASTER_KEY = "sk-master-nest-0123456789";
const UPSTREAM_KEY = "sk-upstream-nest-abcdef";

let mock: MockProvider;

function config() {
  return {
    model_list: [
      {
        model_name: "gpt-4o",
        litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1`, api_key: UPSTREAM_KEY },
      },
      {
        model_name: "scripted",
        litellm_params: {
          model: "openai/gpt-4o",
          api_base: `${mock.scenarioUrl("scripted")}/v1`,
          api_key: UPSTREAM_KEY,
        },
      },
    ],
    litellm_settings: { callbacks: ["prometheus"] },
    general_settings: { master_key: MASTER_KEY },
  };
}

beforeAll(async () => {
  mock = await startMockProvider();
});

afterAll(async () => {
  await mock?.close();
});

describe.each(["express", "fastify"] as const)("on the %s platform", (platform) => {
  let app: Awaited<ReturnType<typeof startReferenceApp>>;
  let client: OpenAI;

  beforeAll(async () => {
    app = await startReferenceApp({
      config: config(),
      summaryModel: "gpt-4o",
      quietOpenWarning: true,
      platform,
    });
    client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => mock.clear());

  describe("the gateway at /v1", () => {
    it("answers a completion; the host's middleware still sets its request id", async () => {
      const { data, response } = await client.chat.completions
        .create({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello" }] })
        .withResponse();
      expect(data.choices[0]!.message.content).toMatch(/\w+/);
      expect(response.headers.get("x-llmux-model-group")).toBe("gpt-4o");
      expect(response.headers.get("x-request-id")).toMatch(/^app-\d+$/);
    });

    it("streams the upstream's text", async () => {
      mock.scenario("scripted", { content: "red green blue" });
      const stream = await client.chat.completions.create({
        model: "scripted",
        stream: true,
        messages: [{ role: "user", content: "colours" }],
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      expect(text).toBe("red green blue");
    });

    it("refuses a wrong key with 401", async () => {
      const response = await fetch(`${app.url}/v1/models`, { headers: { authorization: "Bearer sk-wrong" } });
      expect(response.status).toBe(401);
    });
  });

  describe("the dashboard", () => {
    it("serves the dashboard at /llmux/, its data with the master key only", async () => {
      const page = await fetch(`${app.url}/llmux/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("llmux dashboard");
      expect((await fetch(`${app.url}/llmux/api/calls`)).status).toBe(401);
      const calls = await fetch(`${app.url}/llmux/api/calls`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });
      expect(calls.status).toBe(200);
      expect(Array.isArray(((await calls.json()) as { calls: unknown[] }).calls)).toBe(true);
    });
  });

  describe("the host's own routes", () => {
    it("the notes API parses its JSON bodies (Nest's own body parser)", async () => {
      const created = await fetch(`${app.url}/api/notes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "hello" }),
      });
      expect(created.status).toBe(201);
      expect(await (await fetch(`${app.url}/api/notes`)).json()).toEqual([{ id: 1, text: "hello" }]);
    });

    it("POST /api/summarize without the key (or with a wrong one) → 401; no model is called", async () => {
      for (const headers of [{}, { authorization: "Bearer sk-wrong" }] as Array<Record<string, string>>) {
        const response = await fetch(`${app.url}/api/summarize`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ text: "anyone may call models?" }),
        });
        expect(response.status).toBe(401);
        expect(((await response.json()) as { error: string }).error).toMatch(/key/i);
      }
      expect(mock.requests).toHaveLength(0);
    });

    it("sets request and header timeouts on the server (slow-drip bodies are not held for Node's 300 s)", () => {
      const server = app.app.getHttpServer() as import("node:http").Server;
      expect(server.requestTimeout).toBe(30_000);
      expect(server.headersTimeout).toBe(10_000);
    });

    it("POST /api/summarize with the key calls the gateway in-process: same upstream, call id and cost", async () => {
      const response = await fetch(`${app.url}/api/summarize`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-llmux-session-id": "nest-session",
          authorization: `Bearer ${MASTER_KEY}`,
        },
        body: JSON.stringify({ text: "Nest is a framework for server-side applications." }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        summary: string;
        model: string;
        callId: string;
        cost: number;
      };
      expect(body.summary).toMatch(/\w+/);
      expect(body.model).toBe("gpt-4o");
      expect(body.callId).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.cost).toBeGreaterThan(0);
      const [upstream] = await mock.waitForRequests(1);
      expect(upstream!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(upstream!.body.messages[1]).toEqual({
        role: "user",
        content: "Nest is a framework for server-side applications.",
      });
    });

    it("POST /api/summarize without text → the host's own 400", async () => {
      const response = await fetch(`${app.url}/api/summarize`, {
        method: "POST",
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });
      expect(response.status).toBe(400);
      expect(mock.requests).toHaveLength(0);
    });
  });

  describe("operations", () => {
    it("health checks and /metrics (HTTP and in-process calls both counted)", async () => {
      expect((await fetch(`${app.url}/health/liveliness`)).status).toBe(200);
      expect(((await (await fetch(`${app.url}/health/readiness`)).json()) as { status: string }).status).toBe(
        "healthy",
      );
      await app.gateway.flush();
      // With a master key set, /metrics needs it (or a metrics token) like every other route.
      expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
      const metrics = await (
        await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })
      ).text();
      expect(metrics).toMatch(/llmux_requests_total\{[^}]*model_group="gpt-4o"[^}]*\} [2-9]/);
    });

    it("a graceful close lets an in-flight stream finish, then stops", async () => {
      const second = await startReferenceApp({ config: config(), quietOpenWarning: true, platform });
      mock.scenario("scripted", { content: "one two three four", chunkDelayMs: 40 });
      const response = await fetch(`${second.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
        body: JSON.stringify({
          model: "scripted",
          stream: true,
          messages: [{ role: "user", content: "go" }],
        }),
      });
      const reader = response.body!.getReader();
      await reader.read(); // the stream has started
      const closed = second.close();
      let rest = "";
      for (let part = await reader.read(); !part.done; part = await reader.read())
        rest += new TextDecoder().decode(part.value);
      expect(rest.trim().endsWith("data: [DONE]")).toBe(true);
      await closed;
      await expect(fetch(`${second.url}/health/liveliness`)).rejects.toThrow();
    });

    it("a graceful close with a deadline closes a connection still waiting upstream at the deadline", async () => {
      // Sent: a non-streamed call to a deployment that never answers, then close({ graceMs: 100,
      // deadline: now + 300 }). Without the deadline step, Nest's close waits for that connection (the
      // upstream hangs until the deployment timeout), so the close would not resolve within the test.
      const second = await startReferenceApp({ config: config(), quietOpenWarning: true, platform });
      mock.scenario("scripted", { hang: true });
      const pending = fetch(`${second.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
        body: JSON.stringify({ model: "scripted", messages: [{ role: "user", content: "go" }] }),
      }).then(
        (response) => `status ${response.status}`,
        (error: Error) => `failed: ${error.message}`,
      );
      const upstream = await mock.waitForRequests(1);
      await second.close({ graceMs: 100, deadline: Date.now() + 300 });
      // Came back: the client's connection was closed at the deadline (no response), and the gateway
      // aborted the upstream call it was waiting on.
      expect(await pending).toMatch(/^failed: /);
      expect(await upstream[0]!.clientClosed).toBe(true);
    }, 10_000);
  });
});
