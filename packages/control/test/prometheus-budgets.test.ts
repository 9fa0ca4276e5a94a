/**
 * LiteLLM's remaining-budget gauges fed by the control plane: a gateway with the control plane
 * (PGlite) and `callbacks: [prometheus]` with `prometheus_metric_names: litellm`, a team with a budget,
 * a key in it with a budget and a key without one; after real calls, a scrape of GET /v1/metrics
 * shows litellm_remaining_api_key_budget_metric, litellm_api_key_max_budget_metric,
 * litellm_remaining_team_budget_metric and litellm_team_max_budget_metric with what was spent.
 */
import { createHash } from "node:crypto";
import type { LlmuxConfig } from "@llmux/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, MASTER_KEY, PRICED, startGateway } from "./gateway-harness";

let harness: Harness;

beforeAll(async () => {
  const config = {
    model_list: [{ model_name: "gpt-4o-mini", litellm_params: { model: "mock/gpt-4o-mini", ...PRICED } }],
    general_settings: { master_key: MASTER_KEY, key_store: "memory://", proxy_batch_write_at: 0.05 },
    litellm_settings: { callbacks: ["prometheus"], prometheus_metric_names: "litellm" },
  } as LlmuxConfig;
  harness = await startGateway({ config });
});

afterAll(async () => {
  await harness?.close();
});

/** The value of one series in a text exposition (labels given must all match). */
function value(exposition: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(`${metric}{`)) continue;
    const body = line.slice(metric.length + 1, line.lastIndexOf("}"));
    if (!Object.entries(labels).every(([name, wanted]) => body.includes(`${name}="${wanted}"`))) continue;
    const text = line.slice(line.lastIndexOf("}") + 1).trim();
    return text === "+Inf" ? Number.POSITIVE_INFINITY : Number(text);
  }
  return undefined;
}

describe("remaining-budget gauges from the control plane (prometheus_metric_names: litellm)", () => {
  it("after calls, the key's and team's remaining budget = budget - spend; no budget is +Inf", async () => {
    const team = await harness.call("POST", "/team/new", MASTER_KEY, {
      team_alias: "search",
      max_budget: 50,
    });
    expect(team.status).toBe(200);
    const budgeted = await harness.call("POST", "/key/generate", MASTER_KEY, {
      key_alias: "search-app",
      team_id: team.body.team_id,
      max_budget: 5,
    });
    const unlimited = await harness.call("POST", "/key/generate", MASTER_KEY, { key_alias: "free-app" });
    let spent = 0;
    for (let index = 0; index < 2; index++) {
      const response = await harness.chat(budgeted.body.key);
      expect(response.status).toBe(200);
      spent += Number(response.headers.get("x-llmux-response-cost"));
    }
    expect(spent).toBeGreaterThan(0);
    expect((await harness.chat(unlimited.body.key)).status).toBe(200);
    await harness.gateway.flush();

    const scrape = await fetch(`${harness.base}/v1/metrics`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(scrape.status).toBe(200);
    const exposition = await scrape.text();
    const keyLabels = {
      hashed_api_key: createHash("sha256").update(budgeted.body.key).digest("hex"),
      api_key_alias: "search-app",
    };
    expect(value(exposition, "litellm_api_key_max_budget_metric", keyLabels)).toBe(5);
    expect(value(exposition, "litellm_remaining_api_key_budget_metric", keyLabels)).toBeCloseTo(5 - spent, 9);
    const teamLabels = { team: team.body.team_id, team_alias: "search" };
    expect(value(exposition, "litellm_team_max_budget_metric", teamLabels)).toBe(50);
    expect(value(exposition, "litellm_remaining_team_budget_metric", teamLabels)).toBeCloseTo(50 - spent, 9);
    expect(
      value(exposition, "litellm_remaining_api_key_budget_metric", {
        hashed_api_key: createHash("sha256").update(unlimited.body.key).digest("hex"),
        api_key_alias: "free-app",
      }),
    ).toBe(Number.POSITIVE_INFINITY);
    // never the key itself
    expect(exposition).not.toContain(budgeted.body.key);
  });
});
