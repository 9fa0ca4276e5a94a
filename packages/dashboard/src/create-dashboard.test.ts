/**
 * The dashboard's data endpoints over real HTTP (a node:http server on 127.0.0.1, port 0), fed with
 * call events through its plugin's sink the way the gateway's callback engine feeds it, against a
 * small host (master key "sk-master"). The end-to-end run with a real gateway and browser is
 * test/dashboard-browser.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { CallEvent, PluginRoute, SinkStats } from "@llmux/callbacks";
import { afterEach, describe, expect, it } from "vitest";
import { createDashboard } from "./create-dashboard";
import type { Dashboard, DashboardHost, DeploymentInfo } from "./types";

const MASTER = "sk-master";
let servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  servers = [];
});

interface Setup {
  url: string;
  dashboard: Dashboard;
  now: { value: number };
  stats: SinkStats[];
  cooling: Array<{ deploymentId: string; until: number }>;
}

const DEPLOYMENTS: DeploymentInfo[] = [
  { modelGroup: "gpt-4o", deploymentId: "gpt-4o-a", provider: "openai", model: "gpt-4o", rpm: 100 },
  { modelGroup: "gpt-4o", deploymentId: "gpt-4o-b", provider: "azure", model: "gpt-4o" },
  { modelGroup: "mini", deploymentId: "mini-a", provider: "openai", model: "gpt-4o-mini" },
];

async function start(options: { redact?: boolean; routes?: PluginRoute[] } = {}): Promise<Setup> {
  const now = { value: Date.UTC(2026, 11, 4, 12, 0, 0) };
  const stats: SinkStats[] = [];
  const cooling: Setup["cooling"] = [];
  const plugins: unknown[] = [];
  const host: DashboardHost = {
    async authenticate(request: IncomingMessage) {
      if (request.headers.authorization !== `Bearer ${MASTER}`) {
        throw Object.assign(new Error("This route needs the master key (or an admin key)"), {
          status: 401,
          code: "admin_required",
        });
      }
    },
    addPlugin: (plugin) => plugins.push(plugin),
    redact: options.redact ?? false,
    deployments: () => DEPLOYMENTS,
    cooling: () => cooling,
    inFlight: (id) => (id === "gpt-4o-a" ? 2 : 0),
    routes: () => options.routes ?? [],
  };
  const dashboard = createDashboard(host, { now: () => now.value, maxCalls: 5 });
  expect(plugins).toEqual([dashboard.plugin]);
  dashboard.plugin.observeEngine?.({ stats: () => stats });
  const server = createServer((request, response) => {
    dashboard.handle(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end("not the dashboard's");
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, dashboard, now, stats, cooling };
}

function event(overrides: Partial<CallEvent> & { callId: string; startTime: number }): CallEvent {
  return {
    traceId: undefined,
    callType: "chat",
    stream: false,
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    requestParams: { temperature: 0 },
    messages: [{ role: "user", content: "hello" }],
    redacted: false,
    tags: ["t1"],
    metadata: {},
    status: "success",
    deploymentId: "gpt-4o-a",
    provider: "openai",
    usage: {
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 15,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
    },
    cost: { input: 0.000025, output: 0.00005, cacheRead: 0, cacheCreation: 0, total: 0.000075 },
    timings: {
      startTime: overrides.startTime,
      endTime: overrides.startTime + 100,
      durationMs: 100,
      upstreamMs: 95,
      overheadMs: 5,
    },
    attempts: [
      {
        index: 0,
        modelGroup: "gpt-4o",
        deploymentId: "gpt-4o-a",
        provider: "openai",
        model: "gpt-4o",
        startTime: overrides.startTime,
        endTime: overrides.startTime + 95,
        latencyMs: 95,
        outcome: "success",
        fallback: false,
      },
    ],
    fallbacks: 0,
    response: [{ role: "assistant", content: "hi" }],
    ...overrides,
  } as CallEvent;
}

async function get(url: string, key: string | null = MASTER) {
  const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  // biome-ignore lint/suspicious/noExplicitAny: the JSON answers are checked field by field below.
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe("dashboard data endpoints", () => {
  it("refuses every api/* endpoint without the admin key, and serves the page (no data) to anyone", async () => {
    const setup = await start();
    setup.dashboard.plugin.sink!.onSuccess!(event({ callId: "c1", startTime: setup.now.value }));
    for (const path of [
      "overview",
      "calls",
      "calls/c1",
      "spend",
      "models",
      "deployments",
      "exporters",
      "keys",
    ]) {
      const anonymous = await get(`${setup.url}/api/${path}`, null);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.body.error.code).toBe("admin_required");
      expect(JSON.stringify(anonymous.body)).not.toContain("c1");
      expect((await get(`${setup.url}/api/${path}`, "sk-wrong")).status).toBe(401);
    }
    expect((await get(`${setup.url}/api/session`, null)).body).toEqual({ authenticated: false });
    expect((await get(`${setup.url}/api/session`, "sk-wrong")).body).toEqual({ authenticated: false });
    expect((await get(`${setup.url}/api/session`)).body).toEqual({ authenticated: true });
    const page = await fetch(`${setup.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('id="signin"');
    expect(html).not.toContain("c1");
    for (const asset of ["app.js", "app.css", "uplot.min.js", "uplot.min.css", "favicon.svg"]) {
      expect((await fetch(`${setup.url}/${asset}`)).status, asset).toBe(200);
    }
    // Not the dashboard's: the handler resolves false (the adapter calls next()).
    expect((await fetch(`${setup.url}/elsewhere`)).status).toBe(404);
    expect(await (await fetch(`${setup.url}/elsewhere`)).text()).toBe("not the dashboard's");
  });

  it("lists recent calls newest first, pages with ?since, keeps only the last N", async () => {
    const setup = await start();
    const sink = setup.dashboard.plugin.sink!;
    for (let index = 1; index <= 7; index++) {
      sink.onSuccess!(
        event({ callId: `c${index}`, startTime: setup.now.value + index, user: "alice", team: "red" }),
      );
    }
    const all = await get(`${setup.url}/api/calls`);
    expect(all.status).toBe(200);
    expect(all.body.cursor).toBe(7);
    // maxCalls is 5: c1 and c2 are gone.
    expect(all.body.calls.map((call: { callId: string }) => call.callId)).toEqual([
      "c7",
      "c6",
      "c5",
      "c4",
      "c3",
    ]);
    expect(all.body.calls[0]).toMatchObject({
      seq: 7,
      modelGroup: "gpt-4o",
      deploymentId: "gpt-4o-a",
      provider: "openai",
      status: "success",
      httpStatus: 200,
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 15,
      cost: 0.000075,
      latencyMs: 100,
      user: "alice",
      team: "red",
      attempts: 1,
    });
    expect(all.body.calls[0].messages).toBeUndefined();
    const newer = await get(`${setup.url}/api/calls?since=5`);
    expect(newer.body.calls.map((call: { callId: string }) => call.callId)).toEqual(["c7", "c6"]);
    expect((await get(`${setup.url}/api/calls/c1`)).status).toBe(404);
  });

  it("shows a call's attempts, error and messages, and no content when content logging is off", async () => {
    const setup = await start();
    const sink = setup.dashboard.plugin.sink!;
    sink.onFailure!(
      event({
        callId: "failed",
        startTime: setup.now.value,
        status: "failure",
        usage: null,
        cost: null,
        costReason: "failure before a response",
        error: {
          type: "rate_limit",
          status: 429,
          message: "slow down",
          provider: "openai",
          upstreamStatus: 429,
        },
        metadata: { user_api_key_alias: "team-key" },
      }),
    );
    const detail = await get(`${setup.url}/api/calls/failed`);
    expect(detail.body).toMatchObject({
      callId: "failed",
      status: "failure",
      httpStatus: 429,
      errorType: "rate_limit",
      cost: null,
      costReason: "failure before a response",
      keyAlias: "team-key",
      error: { type: "rate_limit", status: 429, message: "slow down", upstreamStatus: 429 },
      redacted: false,
      messages: [{ role: "user", content: "hello" }],
      response: [{ role: "assistant", content: "hi" }],
      tags: ["t1"],
    });
    expect(detail.body.attemptList).toHaveLength(1);

    const redacted = await start({ redact: true });
    redacted.dashboard.plugin.sink!.onSuccess!(event({ callId: "secret", startTime: redacted.now.value }));
    const hidden = await get(`${redacted.url}/api/calls/secret`);
    expect(hidden.body.redacted).toBe(true);
    expect(hidden.body.messages).toBeUndefined();
    expect(hidden.body.response).toBeUndefined();
    expect(JSON.stringify(hidden.body)).not.toContain("hello");
  });

  it("reports spend and tokens per minute by model, user and key, and per model group error rate and percentiles", async () => {
    const setup = await start();
    const sink = setup.dashboard.plugin.sink!;
    const t0 = setup.now.value - 5 * 60_000;
    sink.onSuccess!(event({ callId: "a", startTime: t0, user: "alice" }));
    sink.onSuccess!(
      event({
        callId: "b",
        startTime: t0 + 60_000,
        user: "bob",
        modelGroup: "mini",
        timings: { startTime: 0, endTime: 0, durationMs: 300, upstreamMs: 290, overheadMs: 10, ttftMs: 40 },
      }),
    );
    sink.onFailure!(
      event({
        callId: "c",
        startTime: t0 + 60_000,
        status: "failure",
        usage: null,
        cost: null,
        error: { type: "server_error", status: 500, message: "boom" },
        metadata: { user_api_key_alias: "k1" },
      }),
    );
    const byModel = await get(`${setup.url}/api/spend?by=model&window=15m`);
    expect(byModel.body.source).toBe("memory");
    expect(byModel.body.bucketMs).toBe(60_000);
    expect(byModel.body.totals).toEqual({ spend: 0.00015, tokens: 30, calls: 3 });
    const gpt = byModel.body.series.find((series: { name: string }) => series.name === "gpt-4o");
    const index = byModel.body.times.indexOf(t0);
    expect(index).toBeGreaterThanOrEqual(0);
    expect(gpt.spend[index]).toBe(0.000075);
    expect(gpt.calls[index + 1]).toBe(1);
    expect(gpt.tokens[index + 1]).toBe(0);
    const byUser = await get(`${setup.url}/api/spend?by=user&window=15m`);
    expect(byUser.body.series.map((series: { name: string }) => series.name).sort()).toEqual([
      "(none)",
      "alice",
      "bob",
    ]);
    const byKey = await get(`${setup.url}/api/spend?by=key&window=15m`);
    expect(byKey.body.series.map((series: { name: string }) => series.name).sort()).toEqual(["(none)", "k1"]);
    expect((await get(`${setup.url}/api/spend?by=planet`)).status).toBe(400);

    const models = await get(`${setup.url}/api/models?window=15m`);
    expect(models.body.models).toEqual([
      {
        modelGroup: "gpt-4o",
        calls: 2,
        errors: 1,
        errorRate: 0.5,
        spend: 0.000075,
        tokens: 15,
        latencyMs: { p50: 100, p90: 100, p99: 100 },
        ttftMs: { p50: null, p90: null },
      },
      {
        modelGroup: "mini",
        calls: 1,
        errors: 0,
        errorRate: 0,
        spend: 0.000075,
        tokens: 15,
        latencyMs: { p50: 300, p90: 300, p99: 300 },
        ttftMs: { p50: 40, p90: 40 },
      },
    ]);
    // Out of the window: nothing counted.
    setup.now.value += 60 * 60_000;
    const later = await get(`${setup.url}/api/models?window=15m`);
    expect(later.body.models.map((model: { calls: number }) => model.calls)).toEqual([0, 0]);
  });

  it("shows deployments cooling down with why and until when, and exporter health", async () => {
    const setup = await start();
    const sink = setup.dashboard.plugin.sink!;
    const until = setup.now.value + 30_000;
    sink.onCooldown!({
      time: setup.now.value,
      modelGroup: "gpt-4o",
      deploymentId: "gpt-4o-b",
      provider: "azure",
      reason: "rate_limit",
      until,
    });
    setup.dashboard.plugin.onDeploymentState!({
      modelGroup: "gpt-4o",
      deploymentId: "gpt-4o-b",
      provider: "azure",
      model: "gpt-4o",
      state: "cooling",
      until,
    });
    setup.cooling.push({ deploymentId: "gpt-4o-b", until });
    sink.onSuccess!(event({ callId: "x", startTime: setup.now.value - 1000 }));
    const answer = await get(`${setup.url}/api/deployments`);
    expect(answer.body.deployments).toEqual([
      {
        ...DEPLOYMENTS[0],
        state: "healthy",
        inFlight: 2,
        lastMinute: { requests: 1, tokens: 15, failures: 0 },
      },
      {
        ...DEPLOYMENTS[1],
        state: "cooling",
        until,
        reason: "rate_limit",
        since: setup.now.value,
        inFlight: 0,
        lastMinute: { requests: 0, tokens: 0, failures: 0 },
      },
      {
        ...DEPLOYMENTS[2],
        state: "healthy",
        inFlight: 0,
        lastMinute: { requests: 0, tokens: 0, failures: 0 },
      },
    ]);
    const overview = await get(`${setup.url}/api/overview`);
    expect(overview.body).toMatchObject({
      deployments: 3,
      cooling: 1,
      control: false,
      spendSource: "memory",
    });

    setup.stats.push(
      { sink: "dashboard", delivered: 5, dropped: 0, errors: 0, queued: 0 },
      { sink: "langfuse", delivered: 3, dropped: 0, errors: 2, queued: 4 },
      { sink: "jsonl", delivered: 9, dropped: 0, errors: 0, queued: 0 },
    );
    const exporters = await get(`${setup.url}/api/exporters`);
    expect(exporters.body.exporters).toEqual([
      { sink: "langfuse", delivered: 3, dropped: 0, errors: 2, queued: 4, healthy: false },
      { sink: "jsonl", delivered: 9, dropped: 0, errors: 0, queued: 0, healthy: true },
    ]);
  });

  it("answers key management with 404 without a control plane, and forwards to its routes with one", async () => {
    const off = await start();
    const refused = await fetch(`${off.url}/api/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
      body: JSON.stringify({ key_alias: "x" }),
    });
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("control_plane_off");

    const seen: Array<{ path: string; url: string | undefined; body: unknown; access: unknown }> = [];
    type Body = Record<string, unknown>;
    const route = (method: "GET" | "POST", path: string, answer: (body: Body) => unknown): PluginRoute => {
      const handle = (request: IncomingMessage, response: ServerResponse, body: unknown, access: unknown) => {
        seen.push({ path, url: request.url, body, access });
        const text = JSON.stringify(answer((body ?? {}) as Body));
        response.writeHead(200, { "content-type": "application/json" });
        response.end(text);
      };
      return { method, path, auth: "admin", handle } as unknown as PluginRoute;
    };
    const start1 = Date.UTC(2026, 11, 4, 11, 58, 0);
    const on = await start({
      routes: [
        route("POST", "/key/generate", (body) => ({
          key: "sk-new",
          key_alias: body.key_alias,
          models: body.models,
        })),
        route("GET", "/key/list", () => ({
          keys: [{ token: "abc", key_alias: "x", spend: 0.5 }],
          total_count: 1,
        })),
        route("POST", "/key/block", (body) => ({ token: body.key, blocked: true })),
        route("POST", "/key/delete", (body) => ({ deleted_keys: body.keys })),
        route("GET", "/spend/logs", () => [
          {
            request_id: "r1",
            api_key: "hashed-0123456789abcdef",
            spend: 0.25,
            total_tokens: 100,
            startTime: new Date(start1).toISOString(),
            model: "gpt-4o-2024",
            model_group: "gpt-4o",
            user: "alice",
            metadata: { user_api_key_alias: "x", user_api_key_team_alias: "red" },
          },
          {
            request_id: "r2",
            api_key: "hashed-0123456789abcdef",
            spend: "0.5",
            total_tokens: 50,
            startTime: new Date(start1 - 2 * 60 * 60_000).toISOString(),
            model: "gpt-4o",
          },
        ]),
      ],
    });
    const created = await fetch(`${on.url}/api/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
      body: JSON.stringify({ key_alias: "x", models: ["gpt-4o"], max_budget: 5 }),
    });
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ key: "sk-new", key_alias: "x", models: ["gpt-4o"] });
    expect(seen[0]).toEqual({
      path: "/key/generate",
      url: "/key/generate",
      body: { key_alias: "x", models: ["gpt-4o"], max_budget: 5 },
      access: { admin: true },
    });
    expect((await get(`${on.url}/api/keys`)).body.keys[0].key_alias).toBe("x");
    expect(seen[1]!.url).toBe("/key/list?return_full_object=true&size=100");
    const blocked = await fetch(`${on.url}/api/keys/block`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}` },
      body: JSON.stringify({ key: "abc" }),
    });
    expect(await blocked.json()).toEqual({ token: "abc", blocked: true });
    expect((await get(`${on.url}/api/overview`)).body).toMatchObject({
      control: true,
      spendSource: "control",
    });

    const spend = await get(`${on.url}/api/spend?by=team&window=1h`);
    // Only the row inside the last hour counts; the team comes from the key's team alias.
    expect(spend.body).toMatchObject({
      source: "control",
      by: "team",
      totals: { spend: 0.25, tokens: 100, calls: 1 },
    });
    expect(spend.body.series.map((series: { name: string }) => series.name)).toEqual(["red"]);
    const byKey = await get(`${on.url}/api/spend?by=key&window=24h`);
    expect(byKey.body.totals).toEqual({ spend: 0.75, tokens: 150, calls: 2 });
    expect(byKey.body.series.map((series: { name: string }) => series.name).sort()).toEqual([
      "x",
      "…89abcdef",
    ]);
    // Without the admin key, nothing reaches the control routes.
    const before = seen.length;
    expect((await get(`${on.url}/api/keys`, null)).status).toBe(401);
    expect(seen.length).toBe(before);
  });
});
