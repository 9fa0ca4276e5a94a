/**
 * End to end: an Express app with llmux mounted at /v1 and `callbacks: [prometheus]` in the config
 * (so the gateway loads this package through createPlugin), the mock provider as upstream, real
 * calls over HTTP (a plain call, a stream, a failure, a fallback), then a scrape of GET /v1/metrics.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CallEvent } from "@llmux/callbacks";
import type { LlmuxConfig } from "@llmux/core";
import { llmux } from "@llmux/express";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition, type Sample, select, sum } from "./test-support/exposition";
import type { PrometheusPlugin } from "./types";

const METRICS_TOKEN = "e2e-scrape-token";
let mock: MockProvider;
let server: Server;
let base = "";
let middleware: ReturnType<typeof llmux>;
/** Every call event, recorded by a second sink beside the plugin's. */
const events: CallEvent[] = [];

beforeAll(async () => {
  mock = await startMockProvider();
  // "east" serves gpt-4o; "flaky" is the second gpt-4o deployment used for the fallback case; "broken"
  // always answers 500; "backup" serves the fallback group.
  mock.scenario("broken", { status: 500 });
  const deployment = (group: string, id: string, model: string, scenario: string) => ({
    model_name: group,
    litellm_params: {
      model: `openai/${model}`,
      api_key: `sk-e2e-${id}`,
      api_base: `${mock.scenarioUrl(scenario)}/v1`,
    },
    model_info: { id },
  });
  const config: LlmuxConfig = {
    model_list: [
      deployment("gpt-4o", "gpt4o-east", "gpt-4o", "east"),
      deployment("primary", "primary-1", "gpt-4o", "flaky"),
      deployment("backup", "backup-1", "gpt-4o-mini", "backup"),
      deployment("broken", "broken-1", "gpt-4o-mini", "broken"),
    ],
    router_settings: {
      num_retries: 0,
      allowed_fails: 0,
      cooldown_time: 60,
      fallbacks: [{ primary: ["backup"] }],
    },
    litellm_settings: { callbacks: ["prometheus"], prometheus_user_labels: true },
  };
  middleware = llmux({
    config,
    env: { LLMUX_METRICS_TOKEN: METRICS_TOKEN },
    quietOpenWarning: true,
    sinks: [
      {
        name: "recorder",
        onSuccess: (event) => void events.push(event),
        onFailure: (event) => void events.push(event),
      },
    ],
  });
  await middleware.gateway.ready;
  const app = express();
  app.use(express.json());
  app.get("/api/ping", (_request, response) => {
    response.json({ pong: true });
  });
  app.use("/v1", middleware);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await middleware?.gateway.shutdown();
  await mock?.close();
});

interface CallResult {
  status: number;
  attempts: number;
  cost: number;
  promptTokens: number;
  completionTokens: number;
  deployment: string | null;
}

async function chat(model: string, user: string, stream = false): Promise<CallResult> {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      user,
      messages: [{ role: "user", content: "Say hello to the metrics test" }],
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  });
  const text = await response.text();
  let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
  if (stream) {
    for (const line of text.split("\n")) {
      if (!line.startsWith("data: {")) continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk.usage) usage = chunk.usage;
    }
  } else if (response.status === 200) {
    usage = JSON.parse(text).usage;
  }
  return {
    status: response.status,
    attempts: Number(response.headers.get("x-llmux-attempts") ?? 0),
    cost: Number(response.headers.get("x-llmux-response-cost") ?? 0),
    promptTokens: usage?.prompt_tokens ?? 0,
    completionTokens: usage?.completion_tokens ?? 0,
    deployment: response.headers.get("x-llmux-model-id"),
  };
}

async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${base}/v1/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

describe("gateway with the prometheus callback", () => {
  it("counts real calls, a failure and a fallback, and serves them at /v1/metrics", async () => {
    const plugin = middleware.gateway.plugins().find((candidate) => candidate.name === "prometheus") as
      | PrometheusPlugin
      | undefined;
    expect(plugin, "the gateway loaded @llmux/prometheus from callbacks: [prometheus]").toBeDefined();

    // The host's own route still works beside the gateway.
    expect((await fetch(`${base}/api/ping`)).status).toBe(200);
    // /v1/metrics is protected by LLMUX_METRICS_TOKEN.
    expect((await fetch(`${base}/v1/metrics`)).status).toBe(401);

    const plain = await chat("gpt-4o", "alice");
    const streamed = await chat("gpt-4o", "alice", true);
    const failed = await chat("broken", "bob");
    // The first request to "flaky" fails with 503, so the call falls back to the backup group.
    mock.scenario("flaky", [{ status: 503 }]);
    const fellBack = await chat("primary", "carol");
    const calls = { plain, streamed, failed, fellBack };
    console.log("calls sent (status, attempts, deployment, cost, tokens):", calls);
    expect([plain.status, streamed.status, fellBack.status]).toEqual([200, 200, 200]);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(fellBack.deployment).toBe("backup-1");

    // Events reach the sink through the engine's queue: drain it before scraping.
    await middleware.gateway.flush();
    const samples = await scrape();
    console.log(
      "llmux_requests_total after the calls:",
      select(samples, "llmux_requests_total").map((sample) => [sample.labels, sample.value]),
    );

    // Requests, by group, outcome and the deployment that produced it.
    expect(sum(samples, "llmux_requests_total")).toBe(4);
    expect(
      sum(samples, "llmux_requests_total", {
        model_group: "gpt-4o",
        deployment: "gpt4o-east",
        status_code: "200",
        user: "alice",
      }),
    ).toBe(2);
    expect(
      sum(samples, "llmux_requests_total", {
        model_group: "broken",
        status_code: String(failed.status),
        user: "bob",
      }),
    ).toBe(1);
    // After a fallback, model_group is the group that served the call (the event's modelGroup).
    expect(
      sum(samples, "llmux_requests_total", {
        model_group: "backup",
        deployment: "backup-1",
        status_code: "200",
        model: "gpt-4o-mini",
        user: "carol",
      }),
    ).toBe(1);

    // Fallback primary -> backup, counted once.
    expect(
      sum(samples, "llmux_fallbacks_total", { model_group: "primary", fallback_model_group: "backup" }),
    ).toBe(1);

    // Tokens and cost match what the responses reported.
    const successful = [plain, streamed, fellBack];
    const promptTokens = successful.reduce((total, call) => total + call.promptTokens, 0);
    const completionTokens = successful.reduce((total, call) => total + call.completionTokens, 0);
    expect(promptTokens).toBeGreaterThan(0);
    expect(sum(samples, "llmux_tokens_total", { type: "input" })).toBe(promptTokens);
    expect(sum(samples, "llmux_tokens_total", { type: "output" })).toBe(completionTokens);
    // Cost: the metric is the sum of the events' costs, and for the non-streamed calls those are the
    // x-llmux-response-cost headers the client got (a stream's headers leave before its cost is known).
    expect(events).toHaveLength(4);
    const eventCost = events.reduce((total, event) => total + (event.cost?.total ?? 0), 0);
    expect(eventCost).toBeGreaterThan(0);
    expect(sum(samples, "llmux_cost_usd_total")).toBeCloseTo(eventCost, 12);
    const nonStreamEventCost = events
      .filter((event) => !event.stream)
      .reduce((total, event) => total + (event.cost?.total ?? 0), 0);
    expect(plain.cost + fellBack.cost).toBeCloseTo(nonStreamEventCost, 12);

    // Histograms: every call timed, TTFT for the stream only, one upstream observation per attempt.
    expect(sum(samples, "llmux_request_duration_seconds_count")).toBe(4);
    expect(sum(samples, "llmux_time_to_first_token_seconds_count")).toBe(1);
    expect(sum(samples, "llmux_time_to_first_token_seconds_count", { deployment: "gpt4o-east" })).toBe(1);
    // Attempts: the x-llmux-attempts headers of the successful calls, and the failed call's event
    // (error responses carry no attempt header).
    const attempts = events.reduce((total, event) => total + event.attempts.length, 0);
    expect(successful.reduce((total, call) => total + call.attempts, 0)).toBe(
      events
        .filter((event) => event.status === "success")
        .reduce((total, event) => total + event.attempts.length, 0),
    );
    expect(sum(samples, "llmux_upstream_duration_seconds_count")).toBe(attempts);
    expect(
      sum(samples, "llmux_upstream_duration_seconds_count", { deployment: "broken-1", status_code: "500" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sum(samples, "llmux_overhead_duration_seconds_count")).toBe(4);

    // Nothing in flight any more; no telemetry dropped.
    expect(sum(samples, "llmux_in_flight_requests")).toBe(0);
    expect(select(samples, "llmux_in_flight_requests").length).toBeGreaterThan(0);
    expect(sum(samples, "llmux_callback_dropped_events_total")).toBe(0);
    expect(sum(samples, "llmux_callback_errors_total", { sink: "prometheus" })).toBe(0);

    // Deployment state agrees with the gateway's readiness report.
    const readiness = (await (await fetch(`${base}/v1/health/readiness`)).json()) as {
      cooling: Array<{ deployment: string }>;
    };
    const cooling = new Set(readiness.cooling.map((entry) => entry.deployment));
    console.log("readiness says cooling:", [...cooling]);
    expect(cooling.has("broken-1")).toBe(true);
    for (const id of ["gpt4o-east", "primary-1", "backup-1", "broken-1"]) {
      expect(sum(samples, "llmux_deployment_state", { deployment: id }), id).toBe(cooling.has(id) ? 1 : 0);
    }
    expect(
      sum(samples, "llmux_deployment_cooldowns_total", { deployment: "broken-1" }),
    ).toBeGreaterThanOrEqual(1);

    // No credential leaks into the exposition.
    const text = await (
      await fetch(`${base}/v1/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    expect(text).not.toContain("sk-e2e-");
    expect(text).not.toContain(METRICS_TOKEN);
  });
});
