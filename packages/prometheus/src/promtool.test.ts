/**
 * promtool (from Debian's prometheus package, installed by the set-up when missing) checks the real
 * exposition served after a sequence of calls, the alert rules and the example scrape config.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { prometheusPlugin } from "./prometheus-plugin";
import {
  attempt,
  attemptEvent,
  callEvent,
  cooldownEvent,
  fallbackEvent,
  startEvent,
} from "./test-support/call-events";
import { ensurePromtool, runPromtool } from "./test-support/promtool";

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
let promtool = "";

beforeAll(() => {
  promtool = ensurePromtool();
}, 600_000);

/** A plugin that has seen every kind of event, so every metric family has samples. */
async function populatedExposition(options: Parameters<typeof prometheusPlugin>[0] = {}): Promise<string> {
  const plugin = prometheusPlugin({ userLabels: true, teamLabels: true, keyLabels: true, ...options });
  const failed = attempt({
    deploymentId: "east",
    outcome: "failure",
    latencyMs: 40,
    error: { type: "rate_limit", status: 429, message: "slow down", upstreamStatus: 429 },
  });
  const retried = attempt({ index: 1, deploymentId: "west", latencyMs: 700 });
  plugin.sink.onStart!(startEvent({ callId: "ok", stream: true, user: "alice", team: "red" }));
  plugin.sink.onAttempt!(attemptEvent("ok", failed));
  plugin.sink.onAttempt!(attemptEvent("ok", retried));
  plugin.sink.onCooldown!(cooldownEvent({ deploymentId: "east" }));
  plugin.sink.onSuccess!(
    callEvent({
      callId: "ok",
      stream: true,
      user: "alice",
      team: "red",
      metadata: { key_alias: "ci" },
      attempts: [failed, retried],
      usage: {
        inputTokens: 12,
        cachedInputTokens: 2,
        cacheCreationInputTokens: 1,
        outputTokens: 30,
        reasoningTokens: 4,
        totalTokens: 42,
      },
      cost: { input: 0.001, output: 0.002, cacheRead: 0, cacheCreation: 0, total: 0.003, currency: "USD" },
      timings: { startTime: 0, endTime: 900, durationMs: 900, ttftMs: 120, upstreamMs: 740, overheadMs: 160 },
    }),
  );
  plugin.sink.onFallback!(fallbackEvent({ callId: "fb" }));
  plugin.sink.onFailure!(
    callEvent({
      callId: "fb",
      status: "failure",
      attempts: [],
      error: { type: "unavailable", status: 503, message: "no deployment available" },
    }),
  );
  plugin.onDeploymentState({
    modelGroup: "gpt-4o",
    deploymentId: "west",
    provider: "openai",
    model: "gpt-4o",
    state: "healthy",
  });
  plugin.observeEngine({ stats: () => [{ sink: "otel", delivered: 1, dropped: 2, errors: 1, queued: 0 }] });
  return plugin.registry.metrics();
}

describe("promtool", () => {
  it("accepts the /metrics exposition (promtool check metrics)", async () => {
    const exposition = await populatedExposition();
    const result = runPromtool(promtool, ["check", "metrics"], exposition);
    console.log(
      `promtool check metrics on ${exposition.split("\n").length} lines ->`,
      result.status,
      result.output || "(no findings)",
    );
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("finds nothing to say about llmux names when prom-client's process metrics are added", async () => {
    const exposition = await populatedExposition({ processMetrics: true });
    const result = runPromtool(promtool, ["check", "metrics"], exposition);
    const findings = result.output.split("\n").filter((line) => line.trim() !== "");
    console.log("promtool check metrics with processMetrics ->", findings);
    // prom-client names a few Node.js gauges *_total (nodejs_active_handles_total...): its naming,
    // not llmux's. Every finding must be about prom-client's nodejs_/process_ metrics.
    for (const finding of findings) expect(finding).toMatch(/^(nodejs|process)_/);
    expect(exposition).toContain("# TYPE process_cpu_user_seconds_total counter");
  });

  it("accepts docs/prometheus/alerts.yml (promtool check rules)", () => {
    const result = runPromtool(promtool, [
      "check",
      "rules",
      join(repositoryRoot, "docs", "prometheus", "alerts.yml"),
    ]);
    console.log("promtool check rules alerts.yml ->", result.status, result.output);
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("fires the alerts the unit tests in docs/prometheus/alerts.test.yml expect (promtool test rules)", () => {
    const result = runPromtool(promtool, [
      "test",
      "rules",
      join(repositoryRoot, "docs", "prometheus", "alerts.test.yml"),
    ]);
    console.log("promtool test rules alerts.test.yml ->", result.status, result.output);
    expect(result.status).toBe(0);
    expect(result.output).toContain("SUCCESS");
  });

  it("parses every PromQL query of docs/grafana/llmux.json (as recording rules)", () => {
    const dashboard = JSON.parse(readFileSync(join(repositoryRoot, "docs", "grafana", "llmux.json"), "utf8"));
    const expressions: string[] = [];
    for (const panel of dashboard.panels as Array<{ targets?: Array<{ expr: string }> }>) {
      for (const target of panel.targets ?? []) expressions.push(target.expr);
    }
    // Grafana's variables become what Grafana would substitute.
    const rules = expressions.map((expr, index) => ({
      record: `dashboard:query_${index}`,
      expr: expr
        .replaceAll("$__rate_interval", "1m")
        .replaceAll("$__range", "6h")
        .replaceAll("$model_group", ".*"),
    }));
    const directory = mkdtempSync(join(tmpdir(), "llmux-dashboard-"));
    try {
      const file = join(directory, "dashboard-rules.yml");
      writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
      const result = runPromtool(promtool, ["check", "rules", file]);
      console.log(
        `promtool check rules on the dashboard's ${rules.length} queries ->`,
        result.status,
        result.output,
      );
      expect(result.status).toBe(0);
      expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("accepts docs/prometheus/prometheus.yml with its rule file (promtool check config)", () => {
    const result = runPromtool(promtool, [
      "check",
      "config",
      join(repositoryRoot, "docs", "prometheus", "prometheus.yml"),
    ]);
    console.log("promtool check config prometheus.yml ->", result.status, result.output);
    expect(result.status).toBe(0);
  });
});
