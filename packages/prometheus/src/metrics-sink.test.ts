/**
 * Feeds a known sequence of callback events through the plugin's sink (as the callback engine
 * would) and reads the registry's text exposition back.
 */
import type { SinkStats } from "@llmux/callbacks";
import { describe, expect, it } from "vitest";
import { OPERATION_DURATION_BUCKETS, TIME_TO_FIRST_TOKEN_BUCKETS } from "./buckets";
import { prometheusPlugin } from "./prometheus-plugin";
import {
  attempt,
  attemptEvent,
  callEvent,
  cooldownEvent,
  fallbackEvent,
  startEvent,
  T0,
} from "./test-support/call-events";
import { parseExposition, select, sum } from "./test-support/exposition";

async function scrape(plugin: ReturnType<typeof prometheusPlugin>) {
  const text = await plugin.registry.metrics();
  return { text, samples: parseExposition(text) };
}

describe("metrics from a known event sequence", () => {
  it("counts requests, tokens, cost, durations, retries, fallbacks, cooldowns and in-flight calls", async () => {
    const plugin = prometheusPlugin({ userLabels: true, teamLabels: true });
    const sink = plugin.sink;

    // Call 1: a stream to gpt-4o served by gpt4o-east, with cached and reasoning tokens.
    sink.onStart!(startEvent({ callId: "c1", stream: true, user: "alice", team: "red" }));
    const c1Attempt = attempt({ deploymentId: "gpt4o-east", latencyMs: 1200 });
    sink.onAttempt!(attemptEvent("c1", c1Attempt));
    sink.onSuccess!(
      callEvent({
        callId: "c1",
        stream: true,
        user: "alice",
        team: "red",
        attempts: [c1Attempt],
        responseModel: "gpt-4o-2024-08-06",
        usage: {
          inputTokens: 100,
          cachedInputTokens: 20,
          cacheCreationInputTokens: 10,
          outputTokens: 50,
          reasoningTokens: 5,
          totalTokens: 150,
        },
        cost: {
          input: 0.0002,
          output: 0.0005,
          cacheRead: 0.00002,
          cacheCreation: 0.00003,
          total: 0.00075,
          currency: "USD",
        },
        timings: {
          startTime: T0,
          endTime: T0 + 1500,
          durationMs: 1500,
          ttftMs: 300,
          firstTokenTime: T0 + 300,
          upstreamMs: 1200,
          overheadMs: 300,
        },
      }),
    );

    // Call 2: gpt4o-east answers 429, retried on gpt4o-west which answers 500, then a fallback to
    // the claude group succeeds.
    sink.onStart!(startEvent({ callId: "c2", user: "bob", team: "red" }));
    const c2East = attempt({
      index: 0,
      deploymentId: "gpt4o-east",
      latencyMs: 50,
      outcome: "failure",
      error: {
        type: "rate_limit",
        status: 429,
        message: "rate limited",
        provider: "openai",
        upstreamStatus: 429,
      },
    });
    const c2West = attempt({
      index: 1,
      deploymentId: "gpt4o-west",
      model: "gpt-4o-mini",
      latencyMs: 80,
      outcome: "failure",
      error: {
        type: "server_error",
        status: 502,
        message: "upstream 500",
        provider: "openai",
        upstreamStatus: 500,
      },
    });
    const c2Claude = attempt({
      index: 2,
      modelGroup: "claude",
      deploymentId: "claude-deploy",
      provider: "anthropic",
      model: "claude-3-5-sonnet",
      latencyMs: 900,
      fallback: true,
    });
    for (const record of [c2East, c2West, c2Claude]) sink.onAttempt!(attemptEvent("c2", record));
    sink.onFallback!(
      fallbackEvent({ callId: "c2", fromGroup: "gpt-4o", toGroup: "claude", reason: "server_error" }),
    );
    sink.onSuccess!(
      callEvent({
        callId: "c2",
        // As the gateway reports it: the group of the deployment that served the call.
        modelGroup: "claude",
        requestedModel: "gpt-4o",
        user: "bob",
        team: "red",
        attempts: [c2East, c2West, c2Claude],
        fallbacks: 1,
        usage: {
          inputTokens: 40,
          cachedInputTokens: 0,
          cacheCreationInputTokens: 0,
          outputTokens: 60,
          reasoningTokens: 0,
          totalTokens: 100,
        },
        cost: {
          input: 0.0001,
          output: 0.0009,
          cacheRead: 0,
          cacheCreation: 0,
          total: 0.001,
          currency: "USD",
        },
        timings: { startTime: T0, endTime: T0 + 1100, durationMs: 1100, upstreamMs: 1030, overheadMs: 70 },
      }),
    );

    // The router cools gpt4o-east down for 30 s.
    sink.onCooldown!(cooldownEvent({ deploymentId: "gpt4o-east", until: Date.now() + 30_000 }));

    // Call 3: a failure (502) with no usage and no cost.
    sink.onStart!(startEvent({ callId: "c3", user: "alice", team: "blue" }));
    const c3West = attempt({
      deploymentId: "gpt4o-west",
      model: "gpt-4o-mini",
      latencyMs: 20,
      outcome: "failure",
      error: {
        type: "server_error",
        status: 502,
        message: "upstream 500",
        provider: "openai",
        upstreamStatus: 500,
      },
    });
    sink.onAttempt!(attemptEvent("c3", c3West));
    sink.onFailure!(
      callEvent({
        callId: "c3",
        status: "failure",
        user: "alice",
        team: "blue",
        deploymentId: "gpt4o-west",
        provider: "openai",
        attempts: [c3West],
        error: {
          type: "server_error",
          status: 502,
          message: "upstream 500",
          provider: "openai",
          upstreamStatus: 500,
        },
        costReason: "failure before a response",
        timings: { startTime: T0, endTime: T0 + 30, durationMs: 30, upstreamMs: 20, overheadMs: 10 },
      }),
    );

    // Call 4 starts and is still running at scrape time.
    sink.onStart!(startEvent({ callId: "c4" }));
    // Call 5's start event was dropped by the queue: only its end arrives.
    sink.onSuccess!(
      callEvent({ callId: "c5", attempts: [attempt({ deploymentId: "gpt4o-west", model: "gpt-4o-mini" })] }),
    );

    const { samples } = await scrape(plugin);
    console.log(
      "sent 5 calls (c1 stream ok, c2 retry+fallback ok, c3 failure 502, c4 running, c5 end without start); got",
      select(samples, "llmux_requests_total").map((sample) => [sample.labels, sample.value]),
    );

    // Requests: 4 ended calls, by the deployment that produced the outcome.
    expect(sum(samples, "llmux_requests_total")).toBe(4);
    expect(
      sum(samples, "llmux_requests_total", {
        model_group: "gpt-4o",
        deployment: "gpt4o-east",
        model: "gpt-4o",
        provider: "openai",
        status_code: "200",
        user: "alice",
        team: "red",
      }),
    ).toBe(1);
    expect(
      sum(samples, "llmux_requests_total", {
        model_group: "claude",
        deployment: "claude-deploy",
        model: "claude-3-5-sonnet",
        provider: "anthropic",
        status_code: "200",
        user: "bob",
      }),
    ).toBe(1);
    expect(sum(samples, "llmux_requests_total", { status_code: "502", deployment: "gpt4o-west" })).toBe(1);
    expect(sum(samples, "llmux_requests_total", { user: "alice" })).toBe(2);

    // Tokens: summed by type, c1 + c2 (c3 failed without usage, c5 had none).
    expect(sum(samples, "llmux_tokens_total", { type: "input" })).toBe(140);
    expect(sum(samples, "llmux_tokens_total", { type: "output" })).toBe(110);
    expect(sum(samples, "llmux_tokens_total", { type: "cached_input" })).toBe(20);
    expect(sum(samples, "llmux_tokens_total", { type: "cache_creation" })).toBe(10);
    expect(sum(samples, "llmux_tokens_total", { type: "reasoning" })).toBe(5);
    expect(sum(samples, "llmux_tokens_total", { type: "output", deployment: "claude-deploy" })).toBe(60);
    expect(sum(samples, "llmux_tokens_per_request_count", { type: "input" })).toBe(2);
    expect(sum(samples, "llmux_tokens_per_request_sum", { type: "output" })).toBe(110);

    // Cost: 0.00075 + 0.001.
    expect(sum(samples, "llmux_cost_usd_total")).toBeCloseTo(0.00175, 12);
    expect(sum(samples, "llmux_cost_usd_total", { user: "bob" })).toBeCloseTo(0.001, 12);
    expect(sum(samples, "llmux_cost_usd_total", { deployment: "gpt4o-west" })).toBe(0);

    // Histograms: one request-duration observation per ended call, TTFT for the stream only,
    // one upstream observation per attempt event (1 + 3 + 1).
    expect(sum(samples, "llmux_request_duration_seconds_count")).toBe(4);
    expect(sum(samples, "llmux_request_duration_seconds_sum")).toBeCloseTo(1.5 + 1.1 + 0.03 + 1.0, 9);
    expect(sum(samples, "llmux_time_to_first_token_seconds_count")).toBe(1);
    expect(sum(samples, "llmux_time_to_first_token_seconds_sum")).toBeCloseTo(0.3, 9);
    expect(sum(samples, "llmux_upstream_duration_seconds_count")).toBe(5);
    expect(
      sum(samples, "llmux_upstream_duration_seconds_count", { deployment: "gpt4o-west", status_code: "500" }),
    ).toBe(2);
    expect(sum(samples, "llmux_overhead_duration_seconds_sum")).toBeCloseTo(0.3 + 0.07 + 0.01 + 0.01, 9);
    // The stream's 300 ms TTFT lands in the 0.5 s bucket and above, not in 0.25 s.
    const ttftBuckets = select(samples, "llmux_time_to_first_token_seconds_bucket");
    expect(ttftBuckets).toHaveLength(TIME_TO_FIRST_TOKEN_BUCKETS.length + 1);
    expect(ttftBuckets.find((sample) => sample.labels["le"] === "0.25")!.value).toBe(0);
    expect(ttftBuckets.find((sample) => sample.labels["le"] === "0.5")!.value).toBe(1);
    expect(
      select(samples, "llmux_request_duration_seconds_bucket", { deployment: "gpt4o-east" }),
    ).toHaveLength(OPERATION_DURATION_BUCKETS.length + 1);

    // Retries: gpt4o-east (429) was retried on gpt4o-west in the same group; the move to claude is
    // a fallback, not a retry.
    expect(sum(samples, "llmux_retries_total")).toBe(1);
    expect(sum(samples, "llmux_retries_total", { deployment: "gpt4o-east", status_code: "429" })).toBe(1);
    expect(
      sum(samples, "llmux_fallbacks_total", {
        model_group: "gpt-4o",
        fallback_model_group: "claude",
        reason: "server_error",
      }),
    ).toBe(1);

    // Cooldown and deployment state.
    expect(
      sum(samples, "llmux_deployment_cooldowns_total", {
        deployment: "gpt4o-east",
        model: "gpt-4o",
        reason: "rate_limit",
      }),
    ).toBe(1);
    expect(sum(samples, "llmux_deployment_state", { deployment: "gpt4o-east" })).toBe(1);

    // In flight: c4 only. c5's end did not subtract anything because its start never arrived.
    expect(sum(samples, "llmux_in_flight_requests", { model_group: "gpt-4o" })).toBe(1);

    // The router reports gpt4o-east healthy again.
    plugin.onDeploymentState({
      modelGroup: "gpt-4o",
      deploymentId: "gpt4o-east",
      provider: "openai",
      model: "gpt-4o",
      state: "healthy",
    });
    sink.onSuccess!(callEvent({ callId: "c4", attempts: [attempt({ deploymentId: "gpt4o-east" })] }));
    const after = (await scrape(plugin)).samples;
    expect(sum(after, "llmux_deployment_state", { deployment: "gpt4o-east" })).toBe(0);
    expect(sum(after, "llmux_in_flight_requests", { model_group: "gpt-4o" })).toBe(0);
    expect(select(after, "llmux_in_flight_requests", { model_group: "gpt-4o" })).toHaveLength(1);
  });

  it("reads a cooling deployment whose cooldown has passed as healthy", async () => {
    const plugin = prometheusPlugin();
    plugin.onDeploymentState({
      modelGroup: "gpt-4o",
      deploymentId: "old",
      provider: "openai",
      model: "gpt-4o",
      state: "cooling",
      until: Date.now() - 1000,
    });
    plugin.onDeploymentState({
      modelGroup: "gpt-4o",
      deploymentId: "current",
      provider: "openai",
      model: "gpt-4o",
      state: "cooling",
      until: Date.now() + 60_000,
    });
    const { samples } = await scrape(plugin);
    expect(sum(samples, "llmux_deployment_state", { deployment: "old" })).toBe(0);
    expect(sum(samples, "llmux_deployment_state", { deployment: "current", model: "gpt-4o" })).toBe(1);
  });

  it("expires a call whose end event was dropped once it is older than the stale age", async () => {
    const plugin = prometheusPlugin({ inFlightStaleAfterSeconds: 60 });
    plugin.sink.onStart!(startEvent({ callId: "lost-end", startTime: Date.now() - 61_000 }));
    plugin.sink.onStart!(startEvent({ callId: "running", startTime: Date.now() }));
    const { samples } = await scrape(plugin);
    console.log(
      "two starts, one 61 s old with no end: in flight =",
      sum(samples, "llmux_in_flight_requests"),
    );
    expect(sum(samples, "llmux_in_flight_requests", { model_group: "gpt-4o" })).toBe(1);
  });

  it("reports the engine's dropped events, sink errors and queue depth at scrape time", async () => {
    const plugin = prometheusPlugin();
    let stats: SinkStats[] = [
      { sink: "prometheus", delivered: 10, dropped: 0, errors: 0, queued: 0 },
      { sink: "otel", delivered: 5, dropped: 3, errors: 1, queued: 7 },
    ];
    plugin.observeEngine({ stats: () => stats });
    // A second engine (another gateway in the same process) adds to the same sink names.
    plugin.observeEngine({ stats: () => [{ sink: "otel", delivered: 1, dropped: 2, errors: 0, queued: 0 }] });
    // An engine whose stats() throws is skipped, never breaking the scrape.
    plugin.observeEngine({
      stats: () => {
        throw new Error("broken engine");
      },
    });

    let { samples } = await scrape(plugin);
    expect(sum(samples, "llmux_callback_dropped_events_total", { sink: "otel" })).toBe(5);
    expect(sum(samples, "llmux_callback_dropped_events_total", { sink: "prometheus" })).toBe(0);
    expect(sum(samples, "llmux_callback_errors_total", { sink: "otel" })).toBe(1);
    expect(sum(samples, "llmux_callback_queued_events", { sink: "otel" })).toBe(7);

    stats = [
      { sink: "prometheus", delivered: 20, dropped: 4, errors: 2, queued: 1 },
      { sink: "otel", delivered: 9, dropped: 10, errors: 1, queued: 0 },
    ];
    ({ samples } = await scrape(plugin));
    console.log(
      "engine stats changed between scrapes; dropped now",
      select(samples, "llmux_callback_dropped_events_total").map((sample) => [
        sample.labels["sink"],
        sample.value,
      ]),
    );
    expect(sum(samples, "llmux_callback_dropped_events_total", { sink: "otel" })).toBe(12);
    expect(sum(samples, "llmux_callback_dropped_events_total", { sink: "prometheus" })).toBe(4);
    expect(sum(samples, "llmux_callback_errors_total", { sink: "prometheus" })).toBe(2);
    expect(sum(samples, "llmux_callback_queued_events", { sink: "otel" })).toBe(0);
  });

  it("adds user/team/key labels only when enabled and never exports a key that looks like a secret", async () => {
    const plain = prometheusPlugin();
    plain.sink.onSuccess!(
      callEvent({ callId: "a", user: "alice", team: "red", attempts: [attempt({ deploymentId: "d" })] }),
    );
    const plainSample = select((await scrape(plain)).samples, "llmux_requests_total")[0]!;
    expect(Object.keys(plainSample.labels).sort()).toEqual(
      ["deployment", "model", "model_group", "provider", "status_code"].sort(),
    );

    const keyed = prometheusPlugin({ keyLabels: true });
    keyed.sink.onSuccess!(
      callEvent({
        callId: "b",
        metadata: { key_alias: "ci-pipeline" },
        attempts: [attempt({ deploymentId: "d" })],
      }),
    );
    keyed.sink.onSuccess!(
      callEvent({
        callId: "c",
        metadata: { key_alias: "sk-proj-abcdefghijklmnop" },
        attempts: [attempt({ deploymentId: "d" })],
      }),
    );
    const { text, samples } = await scrape(keyed);
    expect(sum(samples, "llmux_requests_total", { key: "ci-pipeline" })).toBe(1);
    expect(sum(samples, "llmux_requests_total", { key: "__redacted__" })).toBe(1);
    expect(text).not.toContain("sk-proj");
  });

  it("keeps apart label sets whose values, joined with a separator, would read the same", async () => {
    // Sent: user "alice<U+0001>red" of team "blue", then user "alice" of team "red<U+0001>blue", then
    // the first again. Joined with U+0001 both label sets read "alice<U+0001>red<U+0001>blue".
    const plugin = prometheusPlugin({ userLabels: true, teamLabels: true });
    const served = () => [attempt({ deploymentId: "d" })];
    const first = { user: "alice\u0001red", team: "blue" };
    const second = { user: "alice", team: "red\u0001blue" };
    plugin.sink.onSuccess!(callEvent({ callId: "x", ...first, attempts: served() }));
    plugin.sink.onSuccess!(callEvent({ callId: "y", ...second, attempts: served() }));
    plugin.sink.onSuccess!(callEvent({ callId: "z", ...first, attempts: served() }));
    const { samples } = await scrape(plugin);
    // Came back: each call on its own label set (joined keys counted the second call on the first's
    // series: 3 requests for the first label set, none for the second).
    expect(sum(samples, "llmux_requests_total", first)).toBe(2);
    expect(sum(samples, "llmux_requests_total", second)).toBe(1);
  });
});
