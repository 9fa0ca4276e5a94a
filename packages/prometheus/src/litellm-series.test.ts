/**
 * The bound LiteLLM-named sink against the unbound one it replaced (test-support/unbound-litellm-sink.ts):
 * the same varied events (models, deployments, keys, teams, end users, successes, retries, failures,
 * aborted attempts, fallbacks, streams, budget metadata, count_tokens, cooldowns, rate limits, state
 * changes, registry resets) must give the same /metrics text at every scrape, with the label guards
 * overflowing and the bindings starting afresh past their cap.
 */
import type {
  AttemptRecord,
  CallbackSink,
  CallEvent,
  DeploymentRateLimits,
  DeploymentState,
  ErrorKind,
} from "@llmux/callbacks";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBudgetMetrics } from "./budget-metrics";
import { LitellmMetrics } from "./litellm-metrics";
import {
  applyLitellmDeploymentState,
  applyLitellmRateLimits,
  createLitellmMetricsSink,
} from "./litellm-metrics-sink";
import { LitellmSeries } from "./litellm-series";
import { prometheusPlugin } from "./prometheus-plugin";
import { attempt, attemptEvent, callEvent, cooldownEvent, T0 } from "./test-support/call-events";
import { createUnboundBudgetMetrics } from "./test-support/unbound-budget-metrics";
import { createUnboundLitellmSink } from "./test-support/unbound-litellm-sink";
import type { BudgetMetrics } from "./types";

interface Deployment {
  deploymentId: string;
  provider: string;
  model: string;
  apiBase?: string;
}

const GROUPS: Array<{ group: string; deployments: Deployment[] }> = [
  {
    group: "gpt-4o",
    deployments: [
      { deploymentId: "east", provider: "openai", model: "gpt-4o", apiBase: "https://east.example/v1" },
      { deploymentId: "west", provider: "azure", model: "gpt-4o", apiBase: "https://west.example" },
      // the same deployment reported without its api_base: another label set
      { deploymentId: "east", provider: "openai", model: "gpt-4o" },
    ],
  },
  {
    group: "claude",
    deployments: [{ deploymentId: "claude-1", provider: "anthropic", model: "claude-3-5-sonnet" }],
  },
  { group: "mini", deployments: [{ deploymentId: "mini-1", provider: "openai", model: "gpt-4o-mini" }] },
  { group: "embed", deployments: [{ deploymentId: "embed-1", provider: "openai", model: "text-embed" }] },
  { group: "llama", deployments: [{ deploymentId: "llama-1", provider: "ollama", model: "llama3" }] },
];

/** Callers as the control plane describes them in the call's metadata (one raw-looking key, redacted). */
const CALLERS: Array<Record<string, unknown>> = [
  {
    user_api_key_hash: "hash-1",
    user_api_key_alias: "alias-1",
    user_api_key_team_id: "team-a",
    user_api_key_team_alias: "A",
    user_api_key_user_id: "user-1",
  },
  { user_api_key_hash: "hash-2", user_api_key_alias: "alias-2", user_api_key_team_id: "team-a" },
  { user_api_key_hash: "hash-3", key_alias: "alias-3", team_alias: "B", user_api_key_user_id: "user-2" },
  { hashed_api_key: "hash-4", api_key_alias: "alias-4", user_api_key_team_id: "team-c" },
  { user_api_key_hash: "sk-live-looks-raw", user_api_key_team_id: "team-d", user_api_key_end_user_id: "eu" },
  { user_api_key_hash: "hash-5", user_api_key_team_id: "team-e", user_api_key_user_id: "user-3" },
  {},
];
const END_USERS = [undefined, "customer-1", "customer-2", "customer-3", "customer-4", "customer-5"];
const ERRORS: Array<{ type: ErrorKind; status: number; upstreamStatus?: number }> = [
  { type: "rate_limit", status: 429, upstreamStatus: 429 },
  { type: "server_error", status: 502, upstreamStatus: 500 },
  { type: "unavailable", status: 503 },
  { type: "timeout", status: 504 },
  { type: "context_window_exceeded", status: 400, upstreamStatus: 400 },
  // the same statuses as other kinds: the exception class is a label of its own
  { type: "server_error", status: 503, upstreamStatus: 503 },
  { type: "bad_request", status: 400, upstreamStatus: 400 },
  { type: "connection", status: 502 },
];

/** Callers whose label values, joined by the bindings' separator (U+0001), give one string. */
const SEPARATOR_CLASHES: Array<{ caller: Record<string, unknown>; user: string }> = [
  { caller: { user_api_key_hash: "z" }, user: "x\u0001y" },
  { caller: { user_api_key_hash: "y\u0001z" }, user: "x" },
  { caller: { user_api_key_hash: "y", user_api_key_alias: "z\u0001" }, user: "x" },
];

/** A deterministic pseudo-random sequence (mulberry32), so a failure replays. */
function randomFrom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

type Step =
  | { kind: "call"; event: CallEvent }
  | { kind: "cooldown"; deployment: Deployment; group: string; reason: ErrorKind }
  | { kind: "state"; state: DeploymentState }
  | { kind: "limits"; limits: DeploymentRateLimits }
  | { kind: "budget"; apply: (budgets: BudgetMetrics) => void }
  | { kind: "reset" }
  | { kind: "scrape" };

/** The varied event sequence both sinks see. */
function steps(count: number, seed: number): Step[] {
  const random = randomFrom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const result: Step[] = [];
  let previous = { target: GROUPS[0]!, caller: CALLERS[0]!, user: END_USERS[0] };
  for (let index = 0; index < count; index++) {
    // runs of calls from one caller to one group, as traffic comes: the bindings' last-used paths
    if (random() < 0.4) previous = { target: pick(GROUPS), caller: pick(CALLERS), user: pick(END_USERS) };
    // label sets whose values joined with the bindings' separator are equal (prom-client tells them apart)
    // (a failed attempt and its retry on a group of one deployment, so that their attempts clash too)
    const clash = index % 100 < 6;
    if (clash) previous = { target: GROUPS[2]!, ...SEPARATOR_CLASHES[index % 3]! };
    const { target: chosen, caller, user } = previous;
    const { group, deployments } = chosen;
    const stream = random() < 0.4;
    const roll = clash ? 0.5 : random();
    const latency = () => Math.round(random() * 8000) / (random() < 0.5 ? 1 : 7);
    const error = () => ({ ...(clash ? ERRORS[0]! : pick(ERRORS)), message: "upstream failed" });
    const records: AttemptRecord[] = [];
    let status: "success" | "failure" = "success";
    let fallbacks = 0;
    let modelGroup = group;
    let callError: CallEvent["error"];
    if (roll < 0.45) {
      records.push(attempt({ ...pick(deployments), modelGroup: group, latencyMs: latency() }));
    } else if (roll < 0.6) {
      // a retry: a failed attempt, then a success (the same or another deployment)
      records.push(
        attempt({ ...pick(deployments), modelGroup: group, outcome: "failure", error: error() }),
        attempt({ ...pick(deployments), modelGroup: group, index: 1, latencyMs: latency() }),
      );
    } else if (roll < 0.75) {
      status = "failure";
      const first = error();
      records.push(attempt({ ...pick(deployments), modelGroup: group, outcome: "failure", error: first }));
      if (random() < 0.5)
        records.push(
          attempt({ ...pick(deployments), modelGroup: group, index: 1, outcome: "failure", error: error() }),
        );
      if (random() < 0.3)
        records.push(attempt({ ...pick(deployments), modelGroup: group, index: 2, outcome: "aborted" }));
      callError = random() < 0.8 ? first : undefined;
    } else if (roll < 0.85) {
      // a fallback to another group, which succeeds or fails there
      const target = pick(GROUPS);
      fallbacks = 1;
      modelGroup = group;
      records.push(
        attempt({ ...pick(deployments), modelGroup: group, outcome: "failure", error: error() }),
        attempt({
          ...pick(target.deployments),
          modelGroup: target.group,
          index: 1,
          fallback: true,
          outcome: random() < 0.7 ? "success" : "failure",
          latencyMs: latency(),
        }),
      );
      if (records[1]!.outcome === "failure") {
        status = "failure";
        callError = { ...pick(ERRORS), message: "fallback failed" };
      }
    } else if (roll < 0.9) {
      // no attempt at all (answered from the cache)
    } else if (roll < 0.95) {
      records.push(attempt({ ...pick(deployments), modelGroup: group, latencyMs: latency() }));
    } else {
      records.push(
        attempt({ ...pick(deployments), modelGroup: group, outcome: "aborted", latencyMs: latency() }),
      );
      status = "failure";
      callError = { type: "aborted", status: 499, message: "client went away" };
    }
    const metadata: Record<string, unknown> = { ...caller };
    if (random() < 0.3) {
      metadata.user_api_key_spend = Math.round(random() * 1000) / 100;
      if (random() < 0.6) metadata.user_api_key_max_budget = 50;
      if (random() < 0.5)
        metadata.user_api_key_budget_reset_at = pick([
          new Date(T0 + 3_600_000).toISOString(),
          new Date(T0 + 5_400_000).toISOString(),
          "not a date",
        ]);
      metadata.user_api_key_team_spend = Math.round(random() * 500) / 10;
      if (random() < 0.5) metadata.user_api_key_team_max_budget = 500;
      if (random() < 0.5) metadata.user_api_key_team_budget_reset_at = T0 + 7_200_000;
    }
    const input = Math.floor(random() * 3000);
    const output = random() < 0.1 ? 0 : Math.floor(random() * 800);
    const durationMs = latency() + 20;
    const event = callEvent({
      callId: `c${index}`,
      callType: random() < 0.05 ? "count_tokens" : random() < 0.1 ? "embeddings" : "chat",
      stream,
      modelGroup,
      requestedModel: random() < 0.1 ? `alias-of-${group}` : group,
      metadata,
      status,
      fallbacks,
      attempts: records,
      ...(user === undefined ? {} : { user }),
      ...(random() < 0.1 ? { team: "team-from-event" } : {}),
      ...(random() < 0.1 ? { responseModel: `${group}-2025-01-01` } : {}),
      ...(callError === undefined ? {} : { error: callError }),
      usage:
        random() < 0.1
          ? null
          : {
              inputTokens: input,
              outputTokens: output,
              totalTokens: input + output,
              cachedInputTokens: 0,
              cacheCreationInputTokens: 0,
              reasoningTokens: 0,
            },
      cost:
        random() < 0.2
          ? null
          : {
              total: (input * 2.5 + output * 10) / 1e6,
              input: (input * 2.5) / 1e6,
              output: (output * 10) / 1e6,
              cacheRead: 0,
              cacheCreation: 0,
              currency: "USD",
            },
      timings: {
        startTime: T0,
        endTime: T0 + durationMs,
        durationMs,
        upstreamMs: durationMs - 7,
        overheadMs: 7,
        ...(stream ? { ttftMs: Math.round(random() * 900) } : {}),
      },
    });
    result.push({ kind: "call", event });
    // the same failure again with another exception class of its status: the class is a label of its own
    const failed = event.error;
    const sibling =
      failed && ERRORS.find((kind) => kind.status === failed.status && kind.type !== failed.type);
    if (event.status === "failure" && failed && sibling)
      result.push({
        kind: "call",
        event: { ...event, callId: `${event.callId}-again`, error: { ...failed, type: sibling.type } },
      });
    if (index % 37 === 36) {
      const { group: cooled, deployments: candidates } = pick(GROUPS);
      result.push({
        kind: "cooldown",
        deployment: pick(candidates),
        group: cooled,
        reason: pick(ERRORS).type,
      });
    }
    if (index % 53 === 52) {
      const { group: changed, deployments: candidates } = pick(GROUPS);
      const deployment = pick(candidates);
      result.push({
        kind: "state",
        state: { modelGroup: changed, ...deployment, state: random() < 0.5 ? "cooling" : "healthy" },
      });
    }
    if (index % 41 === 40) {
      const { group: limited, deployments: candidates } = pick(GROUPS);
      result.push({
        kind: "limits",
        limits: {
          modelGroup: limited,
          ...pick(candidates),
          remainingRequests: Math.floor(random() * 100),
          remainingTokens: Math.floor(random() * 10_000),
        },
      });
    }
    if (index % 29 === 28) {
      // the control plane's own budget calls, on the keys and teams the calls' metadata names
      const hashedKey = pick(["hash-1", "hash-2", "hash-3"]);
      const teamId = pick(["team-a", "team-c", "team-e"]);
      const spend = Math.round(random() * 100) / 4;
      const keyAlias = pick(["", "alias-1"]);
      const teamAlias = pick(["", "A"]);
      const apply = pick<(budgets: BudgetMetrics) => void>([
        (budgets) =>
          budgets.setKeyBudget({
            hashedKey,
            keyAlias: "alias-1",
            maxBudget: 50,
            spend,
            resetAt: T0 + 60_000,
          }),
        (budgets) => budgets.setKeyBudget({ hashedKey, remaining: spend }),
        (budgets) =>
          budgets.setTeamBudget({ teamId, teamAlias: "A", maxBudget: 500, spend, resetAt: new Date(T0 + 1) }),
        (budgets) => budgets.removeKey(hashedKey, keyAlias),
        (budgets) => budgets.removeTeam(teamId, teamAlias),
      ]);
      result.push({ kind: "budget", apply });
    }
    if (index % 25 === 24) result.push({ kind: "scrape" });
    if (index === Math.floor(count * 0.6)) result.push({ kind: "reset" });
  }
  result.push({ kind: "scrape" });
  return result;
}

/** One sink and what the plugin does beside it, on its own registry. */
interface Target {
  registry: Registry;
  sink: CallbackSink;
  budgets: BudgetMetrics;
  deploymentState(state: DeploymentState): void;
  rateLimits(limits: DeploymentRateLimits): void;
}

function litellmTarget(
  makeBudgets: (metrics: LitellmMetrics) => BudgetMetrics,
  makeSink: (metrics: LitellmMetrics, budgets: BudgetMetrics) => CallbackSink,
  maxLabelValues: number,
): Target {
  const registry = new Registry();
  const metrics = new LitellmMetrics(registry, maxLabelValues);
  const budgets = makeBudgets(metrics);
  return {
    registry,
    sink: makeSink(metrics, budgets),
    budgets,
    deploymentState: (state) => applyLitellmDeploymentState(metrics, state),
    rateLimits: (limits) => applyLitellmRateLimits(metrics, limits),
  };
}

function unboundTarget(maxLabelValues: number): Target {
  return litellmTarget(createUnboundBudgetMetrics, createUnboundLitellmSink, maxLabelValues);
}

/** Feeds the steps to both targets; the expositions must be equal at every scrape. */
async function compare(
  bound: Target,
  reference: Target,
  sequence: Step[],
  exposition: (target: Target) => Promise<string> = (target) => target.registry.metrics(),
): Promise<number> {
  let scrapes = 0;
  for (const step of sequence) {
    for (const target of [bound, reference]) {
      switch (step.kind) {
        case "call":
          for (const record of step.event.attempts)
            target.sink.onAttempt?.(attemptEvent(step.event.callId, record));
          if (step.event.status === "success") target.sink.onSuccess?.(step.event);
          else target.sink.onFailure?.(step.event);
          break;
        case "cooldown":
          target.sink.onCooldown?.(
            cooldownEvent({ ...step.deployment, modelGroup: step.group, reason: step.reason }),
          );
          break;
        case "state":
          target.deploymentState(step.state);
          break;
        case "limits":
          target.rateLimits(step.limits);
          break;
        case "budget":
          step.apply(target.budgets);
          break;
        case "reset":
          target.registry.resetMetrics();
          break;
        case "scrape":
          break;
      }
    }
    if (step.kind === "scrape") {
      const expected = await exposition(reference);
      expect(await exposition(bound)).toBe(expected);
      scrapes++;
    }
  }
  return scrapes;
}

describe("bound LiteLLM-named series", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("give the unbound sink's exposition at every scrape (guards overflowing, bindings starting afresh)", async () => {
    for (const [maxLabelValues, maxBoundLabelSets] of [
      [3, 4],
      [1000, undefined],
    ] as const) {
      const bound = litellmTarget(
        createBudgetMetrics,
        (metrics, budgets) =>
          createLitellmMetricsSink(
            metrics,
            budgets,
            maxBoundLabelSets === undefined ? {} : { maxBoundLabelSets },
          ),
        maxLabelValues,
      );
      const reference = unboundTarget(maxLabelValues);
      const scrapes = await compare(bound, reference, steps(600, 7));
      expect(scrapes).toBeGreaterThan(20);
      const text = await bound.registry.metrics();
      // the sequence reached what it is meant to cover
      for (const expected of [
        "litellm_deployment_failure_responses_total{",
        "litellm_deployment_successful_fallbacks_total{",
        "litellm_deployment_failed_fallbacks_total{",
        "litellm_llm_api_time_to_first_token_metric_bucket{",
        "litellm_deployment_latency_per_output_token_bucket{",
        'exception_class="RateLimitError"',
        'hashed_api_key="__redacted__"',
        "litellm_remaining_api_key_budget_metric{",
        "litellm_team_budget_remaining_hours_metric{",
        "litellm_remaining_requests_metric{",
      ])
        expect(text).toContain(expected);
      if (maxLabelValues === 3) expect(text).toContain('end_user="__other__"');
    }
  });

  it("metricNames both: the plugin's litellm_ lines are the unbound sink's", async () => {
    const plugin = prometheusPlugin({ metricNames: "both", maxLabelValues: 4 });
    const bound: Target = {
      registry: plugin.registry,
      sink: plugin.sink,
      budgets: plugin.budgets,
      deploymentState: (state) => plugin.onDeploymentState?.(state),
      rateLimits: (limits) => plugin.onDeploymentRateLimits?.(limits),
    };
    const litellmLines = async (target: Target) =>
      (await target.registry.metrics())
        .split("\n")
        .filter((line) => /^(# (HELP|TYPE) )?litellm_/.test(line))
        .join("\n");
    const scrapes = await compare(bound, unboundTarget(4), steps(300, 11), litellmLines);
    expect(scrapes).toBeGreaterThan(10);
  });

  it("stay bounded whatever the number of label sets", () => {
    const registry = new Registry();
    const series = new LitellmSeries(new LitellmMetrics(registry, 100_000), 50);
    for (let index = 0; index < 2000; index++) {
      const call = series.call({
        end_user: `customer-${index}`,
        hashed_api_key: `hash-${index % 300}`,
        api_key_alias: "",
        team: `team-${index % 70}`,
        team_alias: "",
        user: "",
        requested_model: "gpt-4o",
        model: "gpt-4o",
        status_code: "500",
        exception_class: "InternalServerError",
        success: false,
      });
      call.totalRequests(1);
      const deployment = { deploymentId: `d-${index % 90}`, provider: "openai", model: "gpt-4o" };
      const bound = series.attempt(call, deployment);
      bound.total(1);
      series.failure(bound, String(500 + (index % 7)), "InternalServerError")(1);
      series.state(deployment)(1);
      expect(series.size).toBeLessThanOrEqual(4 * 50);
    }
  });
});
