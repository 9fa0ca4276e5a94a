/**
 * LiteLLM's metric names end to end: an Express app with llmux at /v1 and
 * `litellm_settings: { callbacks: [prometheus], prometheus_metric_names: litellm }`, the mock provider
 * as upstream, real calls (plain, streamed, failed, fallback, cooldown) carrying LiteLLM's key/team
 * metadata, then a scrape of GET /v1/metrics. The queries of LiteLLM's published Grafana dashboard
 * (cookbook/litellm_proxy_server/grafana_dashboard/dashboard_v2) and every metric of LiteLLM's
 * documented list (docs/proxy/prometheus) must find their series, with the labels they group by.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CallEvent, PluginFactoryContext } from "@llmux/callbacks";
import type { LlmuxConfig } from "@llmux/core";
import { llmux } from "@llmux/express";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlugin } from "./create-plugin";
import { LITELLM_LABELS } from "./litellm-metrics";
import { prometheusPlugin } from "./prometheus-plugin";
import { attempt, callEvent } from "./test-support/call-events";
import { parseExposition, type Sample, select, sum } from "./test-support/exposition";
import { ensurePromtool, runPromtool } from "./test-support/promtool";
import type { PrometheusPlugin } from "./types";

/** The queries of LiteLLM's published dashboard (dashboard_v2/grafana_dashboard.json), as written there. */
const DASHBOARD_QUERIES = [
  "sum(rate(litellm_proxy_total_requests_metric_total[2m]))",
  "sum(rate(litellm_proxy_failed_requests_metric_total[2m])) by (exception_class)",
  "sum(rate(litellm_request_total_latency_metric_sum[2m]))/sum(rate(litellm_request_total_latency_metric_count[2m]))",
  "histogram_quantile(0.5, sum(rate(litellm_request_total_latency_metric_bucket[2m])) by (le))",
  "topk(5, sort(litellm_remaining_requests))",
  "topk(5, sort(litellm_remaining_tokens))",
  "sum(rate(litellm_proxy_total_requests_metric_total[2m])) by (api_key_alias)",
  "sum(rate(litellm_proxy_total_requests_metric_total[2m])) by (team_alias)",
];

/** LiteLLM's documented metrics (docs/proxy/prometheus), as exposed (counters with `_total`). */
const DOCUMENTED = [
  "litellm_proxy_total_requests_metric_total",
  "litellm_proxy_failed_requests_metric_total",
  "litellm_requests_metric_total",
  "litellm_spend_metric_total",
  "litellm_total_tokens_metric_total",
  "litellm_input_tokens_metric_total",
  "litellm_output_tokens_metric_total",
  "litellm_request_total_latency_metric_bucket",
  "litellm_overhead_latency_metric_bucket",
  "litellm_llm_api_latency_metric_bucket",
  "litellm_llm_api_time_to_first_token_metric_bucket",
  "litellm_deployment_success_responses_total",
  "litellm_deployment_failure_responses_total",
  "litellm_deployment_total_requests_total",
  "litellm_deployment_latency_per_output_token_bucket",
  "litellm_deployment_state",
  "litellm_deployment_cooled_down_total",
  "litellm_deployment_successful_fallbacks_total",
  "litellm_deployment_failed_fallbacks_total",
  "litellm_remaining_requests_metric",
  "litellm_remaining_tokens_metric",
  "litellm_remaining_team_budget_metric",
  "litellm_team_max_budget_metric",
  "litellm_team_budget_remaining_hours_metric",
  "litellm_remaining_api_key_budget_metric",
  "litellm_api_key_max_budget_metric",
  "litellm_api_key_budget_remaining_hours_metric",
  "litellm_remaining_api_key_requests_for_model",
  "litellm_remaining_api_key_tokens_for_model",
];

const METADATA = {
  user_api_key_hash: "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
  user_api_key_alias: "alias-search",
  user_api_key_team_id: "team-search",
  user_api_key_team_alias: "Search",
  user_api_key_user_id: "internal-user-1",
};

let mock: MockProvider;
let server: Server;
let base = "";
let middleware: ReturnType<typeof llmux>;
const events: CallEvent[] = [];
let samples: Sample[] = [];
let exposition = "";

async function chat(model: string, stream = false): Promise<number> {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "hello" }],
      user: "customer-7",
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  });
  await response.text();
  return response.status;
}

beforeAll(async () => {
  mock = await startMockProvider();
  mock.scenario("broken", { status: 500 });
  mock.scenario("flaky", { status: 503 });
  // gpt-4o's upstream reports its rate limits as OpenAI does (litellm_remaining_requests_metric / _tokens_metric)
  mock.scenario("east", {
    headers: { "x-ratelimit-remaining-requests": "4999", "x-ratelimit-remaining-tokens": "159000" },
  });
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
      deployment("doomed", "doomed-1", "gpt-4o-mini", "broken"),
    ],
    router_settings: {
      num_retries: 0,
      allowed_fails: 0,
      cooldown_time: 60,
      fallbacks: [{ primary: ["backup"] }, { doomed: ["broken"] }],
    },
    litellm_settings: { callbacks: ["prometheus"], prometheus_metric_names: "litellm" },
  };
  middleware = llmux({
    config,
    quietOpenWarning: true,
    // The authenticated key's LiteLLM metadata comes from the gateway's side (the control plane or a host
    // hook), never from the request body: a client's user_api_key_* are dropped.
    resolveContext: () => ({ metadata: { ...METADATA } }),
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
  app.use("/v1", middleware);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Sent: two plain calls and a stream to gpt-4o, a call to broken (500, then cooled down), a call to
  // primary (503) that falls back to backup, a call to doomed (500) whose fallback (broken) is cooling.
  expect(await chat("gpt-4o")).toBe(200);
  expect(await chat("gpt-4o")).toBe(200);
  expect(await chat("gpt-4o", true)).toBe(200);
  expect(await chat("broken")).toBeGreaterThanOrEqual(500);
  expect(await chat("primary")).toBe(200);
  expect(await chat("doomed")).toBeGreaterThanOrEqual(500);
  // a count_tokens call (Claude Code sends many): an event of its own, but no LiteLLM request
  const counted = await fetch(`${base}/v1/messages/count_tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hello" }] }),
  });
  expect(counted.status).toBe(200);

  const plugin = middleware.gateway
    .plugins()
    .find((candidate) => candidate.name === "prometheus") as PrometheusPlugin;
  plugin.budgets.setTeamBudget({
    teamId: "team-search",
    teamAlias: "Search",
    maxBudget: 100,
    spend: 12.5,
    resetAt: Date.now() + 7_200_000,
  });
  plugin.budgets.setKeyBudget({
    hashedKey: METADATA.user_api_key_hash,
    keyAlias: "alias-search",
    maxBudget: 10,
    remaining: 9.25,
    resetAt: Date.now() + 3_600_000,
  });
  plugin.budgets.setKeyModelLimits({
    hashedKey: METADATA.user_api_key_hash,
    keyAlias: "alias-search",
    model: "gpt-4o",
    remainingRequests: 57,
    remainingTokens: 9000,
  });

  await middleware.gateway.flush();
  const scrape = await fetch(`${base}/v1/metrics`);
  expect(scrape.status).toBe(200);
  exposition = await scrape.text();
  samples = parseExposition(exposition);
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await middleware?.gateway.shutdown();
  await mock?.close();
});

/** Metric names a query reads, and the labels it groups or filters by. */
function parseQuery(query: string): { metrics: string[]; labels: string[] } {
  const metrics = [...new Set(query.match(/\blitellm_[a-zA-Z0-9_]+/g) ?? [])];
  const labels = new Set<string>();
  for (const match of query.matchAll(/\bby\s*\(([^)]*)\)/g))
    for (const label of match[1]!.split(","))
      if (label.trim() && label.trim() !== "le") labels.add(label.trim());
  for (const match of query.matchAll(/\{([^}]*)\}/g))
    for (const pair of match[1]!.split(","))
      if (pair.includes("=")) labels.add(pair.split(/[=!~]/)[0]!.trim());
  return { metrics, labels: [...labels] };
}

describe("prometheus_metric_names: litellm, through the gateway", () => {
  it("exports LiteLLM's names only (no llmux_ series)", () => {
    expect(samples.some((sample) => sample.name.startsWith("llmux_"))).toBe(false);
    expect(samples.some((sample) => sample.name.startsWith("litellm_"))).toBe(true);
  });

  it("every query of LiteLLM's published dashboard finds its series and labels", () => {
    for (const query of DASHBOARD_QUERIES) {
      const { metrics, labels } = parseQuery(query);
      for (const metric of metrics) {
        const found = select(samples, metric);
        expect(found.length, `${metric} (query: ${query})`).toBeGreaterThan(0);
        for (const label of labels)
          expect(
            found.some((sample) => label in sample.labels),
            `${metric} has label ${label}`,
          ).toBe(true);
      }
    }
    // The api_key_alias and team_alias panels show the caller's alias and team alias.
    expect(
      sum(samples, "litellm_proxy_total_requests_metric_total", {
        api_key_alias: "alias-search",
        team_alias: "Search",
      }),
    ).toBe(6);
  });

  it("every documented metric has at least one series, with LiteLLM's label names", () => {
    const missing = DOCUMENTED.filter((name) => select(samples, name).length === 0);
    expect(missing).toEqual([]);
    for (const [metric, labels] of Object.entries(LITELLM_LABELS)) {
      const family = select(samples, metric).concat(
        select(samples, `${metric}_total`),
        select(samples, `${metric}_bucket`),
      );
      const seen = new Set(family.flatMap((sample) => Object.keys(sample.labels)));
      for (const label of labels) expect(seen.has(label), `${metric} carries ${label}`).toBe(true);
    }
  });

  it("promtool parses the exposition (check metrics)", () => {
    const result = runPromtool(ensurePromtool(), ["check", "metrics"], exposition);
    const findings = result.output.split("\n").filter((line) => line.trim() !== "");
    console.log("promtool check metrics on the LiteLLM names ->", result.status, findings);
    // Lint findings may only be about LiteLLM's own naming (kept as is for its dashboards), never a parse error.
    for (const finding of findings) expect(finding).toMatch(/^litellm_/);
  }, 600_000);

  it("the deployment's upstream rate-limit headers become litellm_remaining_requests_metric / _tokens_metric", () => {
    const labels = {
      model_group: "gpt-4o",
      model_id: "gpt4o-east",
      api_provider: "openai",
      litellm_model_name: "openai/gpt-4o",
      hashed_api_key: "",
    };
    expect(sum(samples, "litellm_remaining_requests_metric", labels)).toBe(4999);
    expect(sum(samples, "litellm_remaining_tokens_metric", labels)).toBe(159000);
    // the dashboard's names, same values
    expect(sum(samples, "litellm_remaining_requests", labels)).toBe(4999);
    expect(sum(samples, "litellm_remaining_tokens", labels)).toBe(159000);
    // upstreams that report no limits (the other deployments) have no series
    expect(select(samples, "litellm_remaining_requests_metric")).toHaveLength(1);
    expect(select(samples, "litellm_remaining_requests_metric")[0]!.labels.api_base).toMatch(
      /^http:\/\/127\.0\.0\.1:/,
    );
  });

  it("values match what happened: requests, failures, tokens, spend, fallbacks, cooldown, budgets", () => {
    expect(events.filter((event) => event.callType === "count_tokens")).toHaveLength(1);
    const calls = events.filter((event) => event.callType !== "count_tokens");
    const ok = calls.filter((event) => event.status === "success");
    expect(calls).toHaveLength(6);
    expect(sum(samples, "litellm_proxy_total_requests_metric_total")).toBe(6);
    expect(sum(samples, "litellm_proxy_total_requests_metric_total", { status_code: "200" })).toBe(4);
    expect(
      sum(samples, "litellm_proxy_failed_requests_metric_total", {
        requested_model: "broken",
        exception_class: "InternalServerError",
        end_user: "customer-7",
        hashed_api_key: METADATA.user_api_key_hash,
        team: "team-search",
        user: "internal-user-1",
      }),
    ).toBe(1);
    const input = ok.reduce((total, event) => total + (event.usage?.inputTokens ?? 0), 0);
    const output = ok.reduce((total, event) => total + (event.usage?.outputTokens ?? 0), 0);
    expect(sum(samples, "litellm_input_tokens_metric_total")).toBe(input);
    expect(sum(samples, "litellm_output_tokens_metric_total")).toBe(output);
    expect(sum(samples, "litellm_total_tokens_metric_total")).toBe(input + output);
    const spend = ok.reduce((total, event) => total + (event.cost?.total ?? 0), 0);
    expect(sum(samples, "litellm_spend_metric_total")).toBeCloseTo(spend, 12);
    expect(sum(samples, "litellm_spend_metric_total", { model: "gpt-4o" })).toBeGreaterThan(0);
    // The streamed call has a time to first token.
    expect(sum(samples, "litellm_llm_api_time_to_first_token_metric_count", { model: "gpt-4o" })).toBe(1);
    // primary (503) fell back to backup and succeeded.
    expect(
      sum(samples, "litellm_deployment_successful_fallbacks_total", {
        requested_model: "primary",
        fallback_model: "backup",
        exception_status: "503",
        exception_class: "ServiceUnavailableError",
      }),
    ).toBe(1);
    expect(
      sum(samples, "litellm_deployment_failure_responses_total", {
        model_id: "primary-1",
        exception_status: "503",
      }),
    ).toBe(1);
    expect(
      sum(samples, "litellm_deployment_success_responses_total", {
        model_id: "gpt4o-east",
        litellm_model_name: "openai/gpt-4o",
        api_provider: "openai",
      }),
    ).toBe(3);
    // broken failed and was cooled down: state 2 (complete outage); east is healthy (0).
    expect(
      sum(samples, "litellm_deployment_cooled_down_total", { model_id: "broken-1" }),
    ).toBeGreaterThanOrEqual(1);
    expect(select(samples, "litellm_deployment_state", { model_id: "broken-1" })[0]?.value).toBe(2);
    expect(select(samples, "litellm_deployment_state", { model_id: "gpt4o-east" })[0]?.value).toBe(0);
    // Budgets set by the control plane.
    expect(
      select(samples, "litellm_remaining_team_budget_metric", {
        team: "team-search",
        team_alias: "Search",
      })[0]?.value,
    ).toBe(87.5);
    expect(select(samples, "litellm_team_max_budget_metric", { team: "team-search" })[0]?.value).toBe(100);
    const hours =
      select(samples, "litellm_team_budget_remaining_hours_metric", { team: "team-search" })[0]?.value ?? 0;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThanOrEqual(2);
    expect(
      select(samples, "litellm_remaining_api_key_budget_metric", { api_key_alias: "alias-search" })[0]?.value,
    ).toBe(9.25);
    expect(
      select(samples, "litellm_remaining_api_key_requests_for_model", { model: "gpt-4o" })[0]?.value,
    ).toBe(57);
    // No upstream key in any label.
    expect(exposition).not.toContain("sk-e2e-");
  });
});

describe("prometheus_metric_names: both, llmux (default) and invalid values", () => {
  const context = (settings: Record<string, unknown>, warnings: string[] = []): PluginFactoryContext =>
    ({
      settings,
      env: {},
      logger: {
        debug: () => undefined,
        info: () => undefined,
        warn: (message: string) => void warnings.push(message),
        error: () => undefined,
      },
    }) as unknown as PluginFactoryContext;

  it("both: one event feeds llmux_* and litellm_* in the same registry", async () => {
    const plugin = createPlugin(
      "prometheus",
      context({ prometheus_metric_names: "both" }),
    ) as PrometheusPlugin;
    expect(plugin.metricNames).toBe("both");
    plugin.sink.onSuccess!(callEvent({ callId: "c1", attempts: [attempt({ deploymentId: "east" })] }));
    const scraped = parseExposition(await plugin.registry.metrics());
    expect(sum(scraped, "llmux_requests_total")).toBe(1);
    expect(sum(scraped, "litellm_proxy_total_requests_metric_total")).toBe(1);
  });

  it("llmux (default): no litellm_ series; budgets are no-ops", async () => {
    const plugin = prometheusPlugin();
    expect(plugin.metricNames).toBe("llmux");
    expect(plugin.budgets.enabled).toBe(false);
    plugin.budgets.setKeyBudget({ hashedKey: "abc", remaining: 1 });
    plugin.sink.onSuccess!(callEvent({ callId: "c1", attempts: [attempt({ deploymentId: "east" })] }));
    const text = await plugin.registry.metrics();
    expect(text).not.toContain("litellm_");
    expect(sum(parseExposition(text), "llmux_requests_total")).toBe(1);
  });

  it("an unknown value is a start-up error; an unknown prometheus_ key is named in a warning", () => {
    expect(() => createPlugin("prometheus", context({ prometheus_metric_names: "openmetrics" }))).toThrow(
      /prometheus_metric_names must be llmux, litellm or both/,
    );
    const warnings: string[] = [];
    createPlugin("prometheus", context({ prometheus_initialize_budget_metrics: true }, warnings));
    expect(warnings).toEqual([
      expect.stringContaining("'litellm_settings.prometheus_initialize_budget_metrics' is not used"),
    ]);
  });

  it("a raw-looking key is refused as a budget label", () => {
    const plugin = prometheusPlugin({ metricNames: "litellm" });
    expect(() => plugin.budgets.setKeyBudget({ hashedKey: "sk-live-123", remaining: 1 })).toThrow(
      /raw API key/,
    );
  });
});
