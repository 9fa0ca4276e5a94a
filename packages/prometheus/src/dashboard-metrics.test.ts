/**
 * Every metric name used by docs/grafana/llmux.json (panel queries, variable queries) and by
 * docs/prometheus/alerts.yml (rule expressions) must exist in the plugin's registry exposition.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { prometheusPlugin } from "./prometheus-plugin";
import { declaredMetricNames } from "./test-support/exposition";

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const METRIC_NAME = /\bllmux_[a-zA-Z0-9_:]+/g;

/** Collects every string under the given keys, anywhere in a parsed JSON/YAML tree. */
function stringsUnder(node: unknown, keys: Set<string>, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) stringsUnder(item, keys, found);
  else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (keys.has(key) && typeof value === "string") found.push(value);
      else if (keys.has(key) && value !== null && typeof value === "object" && "query" in value) {
        const query = (value as { query?: unknown }).query;
        if (typeof query === "string") found.push(query);
      }
      stringsUnder(value, keys, found);
    }
  }
  return found;
}

/** Exposition family names a query may use: counters and gauges as is, histograms with suffixes. */
async function exposedNames(): Promise<Set<string>> {
  const plugin = prometheusPlugin({ userLabels: true, teamLabels: true, keyLabels: true });
  const names = new Set<string>();
  for (const [name, type] of declaredMetricNames(await plugin.registry.metrics())) {
    names.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
  }
  return names;
}

describe("dashboard and alert queries use only exported metrics", () => {
  it("docs/grafana/llmux.json", async () => {
    const dashboard = JSON.parse(readFileSync(join(repositoryRoot, "docs", "grafana", "llmux.json"), "utf8"));
    const queries = stringsUnder(dashboard, new Set(["expr", "query", "definition"]));
    const used = new Set(queries.flatMap((query) => query.match(METRIC_NAME) ?? []));
    const exposed = await exposedNames();
    console.log(`dashboard: ${queries.length} queries use ${used.size} metric names:`, [...used].sort());
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);

    // The brief's panels and variables are there.
    const titles = (dashboard.panels as Array<{ title: string }>).map((panel) => panel.title.toLowerCase());
    for (const needle of [
      "request rate",
      "error ratio",
      "latency p50 / p95 / p99",
      "time to first token p50",
      "tokens / s by model",
      "by user",
      "cost",
      "deployment state",
      "retries",
      "fallbacks",
      "cooldowns",
      "dropped",
    ]) {
      expect(
        titles.some((title) => title.includes(needle)),
        needle,
      ).toBe(true);
    }
    const variables = (dashboard.templating.list as Array<{ name: string; type: string }>).map(
      (variable) => `${variable.name}:${variable.type}`,
    );
    expect(variables).toEqual(["datasource:datasource", "model_group:query"]);
    for (const panel of dashboard.panels as Array<{ type: string; datasource?: { uid: string } }>) {
      if (panel.type !== "row") expect(panel.datasource?.uid).toBe(["$", "{datasource}"].join(""));
    }
  });

  it("docs/prometheus/alerts.yml", async () => {
    const rules = parse(readFileSync(join(repositoryRoot, "docs", "prometheus", "alerts.yml"), "utf8"));
    const expressions = stringsUnder(rules, new Set(["expr"]));
    const used = new Set(expressions.flatMap((expr) => expr.match(METRIC_NAME) ?? []));
    const exposed = await exposedNames();
    console.log(`alerts: ${expressions.length} expressions use`, [...used].sort());
    expect(expressions.length).toBeGreaterThan(5);
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
    const alertNames = (rules.groups as Array<{ rules: Array<{ alert: string }> }>).flatMap((group) =>
      group.rules.map((rule) => rule.alert),
    );
    for (const alert of [
      "LlmuxHighRequestLatency",
      "LlmuxHighErrorRate",
      "LlmuxCostBurnRateHigh",
      "LlmuxModelGroupOutage",
      "LlmuxTelemetryDropped",
    ]) {
      expect(alertNames).toContain(alert);
    }
  });
});
