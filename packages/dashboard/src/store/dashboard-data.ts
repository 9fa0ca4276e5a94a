import type {
  CallbackSink,
  CallEvent,
  CooldownEvent,
  DeploymentState,
  EngineStatsSource,
  ErrorKind,
  LlmuxPlugin,
} from "@llmux/callbacks";
import type {
  CallDetail,
  CallSummary,
  DashboardHost,
  DashboardOptions,
  DeploymentView,
  ExporterView,
  ModelGroupStats,
  SpendDimension,
  SpendReport,
} from "../types";
import { CallRing, keyAliasOf } from "./call-ring";
import { MinuteAggregates } from "./minute-aggregates";

const DASHBOARD_SINK = "dashboard";

/**
 * Everything the dashboard knows, kept in process and bounded: the last N calls (ring), per-minute
 * aggregates, each deployment's last state change and why, and the engine's sink statistics.
 */
export class DashboardData {
  readonly ring: CallRing;
  readonly aggregates: MinuteAggregates;
  private readonly states = new Map<
    string,
    { state: "healthy" | "cooling"; since: number; until?: number }
  >();
  private readonly reasons = new Map<string, { reason: ErrorKind; until: number }>();
  private engine: EngineStatsSource | undefined;
  private readonly exporterTrouble = new Map<string, { bad: number; changedAt: number }>();
  readonly now: () => number;

  constructor(
    private readonly host: DashboardHost,
    options: DashboardOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.ring = new CallRing(options.maxCalls ?? 1000, options.maxContentBytes ?? 32_768, host.redact);
    this.aggregates = new MinuteAggregates(options.retentionMinutes ?? 1440, options.maxNamesPerMinute ?? 50);
  }

  /** The plugin the gateway registers: a sink for call and cooldown events, plus the engine and state hooks. */
  plugin(): LlmuxPlugin {
    const record = (event: CallEvent) => this.record(event);
    const sink: CallbackSink = {
      name: DASHBOARD_SINK,
      queueSize: 2_000,
      onSuccess: record,
      onFailure: record,
      onCooldown: (event: CooldownEvent) => {
        this.reasons.set(event.deploymentId, { reason: event.reason, until: event.until });
      },
    };
    return {
      name: "dashboard",
      sink,
      observeEngine: (engine) => {
        this.engine = engine;
      },
      onDeploymentState: (state: DeploymentState) => {
        const entry: { state: "healthy" | "cooling"; since: number; until?: number } = {
          state: state.state,
          since: this.now(),
        };
        if (state.until !== undefined) entry.until = state.until;
        this.states.set(state.deploymentId, entry);
      },
    };
  }

  record(event: CallEvent): void {
    const detail = this.ring.add(event);
    const facts: Parameters<MinuteAggregates["add"]>[0] = {
      time: event.startTime,
      model: event.modelGroup,
      spend: detail.cost ?? 0,
      tokens: detail.totalTokens,
      failed: event.status === "failure",
    };
    const alias = keyAliasOf(event);
    if (alias) facts.key = alias;
    if (event.user) facts.user = event.user;
    if (event.team) facts.team = event.team;
    this.aggregates.add(facts);
  }

  calls(since: number, limit: number): { cursor: number; calls: CallSummary[] } {
    return { cursor: this.ring.cursor, calls: this.ring.list(since, limit) };
  }

  call(callId: string): CallDetail | undefined {
    return this.ring.get(callId);
  }

  spend(by: SpendDimension, windowMs: number, bucketMs: number): SpendReport {
    const end = this.now();
    const { times, series } = this.aggregates.series(by, end - windowMs, end, bucketMs);
    const report: SpendReport = {
      source: "memory",
      by,
      times,
      bucketMs,
      series: [],
      totals: { spend: 0, tokens: 0, calls: 0 },
    };
    for (const [name, values] of series) {
      report.series.push({
        name,
        spend: values.map((value) => value.spend),
        tokens: values.map((value) => value.tokens),
        calls: values.map((value) => value.calls),
      });
      for (const value of values) {
        report.totals.spend += value.spend;
        report.totals.tokens += value.tokens;
        report.totals.calls += value.calls;
      }
    }
    report.series.sort(
      (left, right) => sum(right.spend) - sum(left.spend) || left.name.localeCompare(right.name),
    );
    return report;
  }

  /**
   * Per model group over the window: calls, errors and spend from the per-minute aggregates; latency
   * and TTFT percentiles from the calls still in the ring (the last N).
   */
  modelGroups(windowMs: number): ModelGroupStats[] {
    const end = this.now();
    const start = end - windowMs;
    const latencies = new Map<string, { latency: number[]; ttft: number[] }>();
    for (const call of this.ring.all()) {
      if (call.time < start) continue;
      let entry = latencies.get(call.modelGroup);
      if (!entry) {
        entry = { latency: [], ttft: [] };
        latencies.set(call.modelGroup, entry);
      }
      entry.latency.push(call.latencyMs);
      if (call.ttftMs !== undefined) entry.ttft.push(call.ttftMs);
    }
    const groups = new Set<string>(this.host.deployments().map((deployment) => deployment.modelGroup));
    const totals = this.aggregates.totals("model", start, end);
    for (const name of totals.keys()) groups.add(name);
    return [...groups].sort().map((modelGroup) => {
      const total = totals.get(modelGroup) ?? { spend: 0, tokens: 0, calls: 0, errors: 0 };
      const latency = (latencies.get(modelGroup)?.latency ?? []).sort((a, b) => a - b);
      const ttft = (latencies.get(modelGroup)?.ttft ?? []).sort((a, b) => a - b);
      return {
        modelGroup,
        calls: total.calls,
        errors: total.errors,
        errorRate: total.calls === 0 ? 0 : total.errors / total.calls,
        spend: total.spend,
        tokens: total.tokens,
        latencyMs: {
          p50: percentile(latency, 0.5),
          p90: percentile(latency, 0.9),
          p99: percentile(latency, 0.99),
        },
        ttftMs: { p50: percentile(ttft, 0.5), p90: percentile(ttft, 0.9) },
      };
    });
  }

  deployments(): DeploymentView[] {
    const now = this.now();
    const cooling = new Map(this.host.cooling().map((entry) => [entry.deploymentId, entry.until]));
    const lastMinute = new Map<string, { requests: number; tokens: number; failures: number }>();
    for (const call of this.ring.all()) {
      if (call.time < now - 60_000) continue;
      for (const attempt of call.attemptList) {
        const entry = lastMinute.get(attempt.deploymentId) ?? { requests: 0, tokens: 0, failures: 0 };
        entry.requests += 1;
        if (attempt.outcome === "failure") entry.failures += 1;
        else if (attempt.outcome === "success") entry.tokens += call.totalTokens;
        lastMinute.set(attempt.deploymentId, entry);
      }
    }
    return this.host.deployments().map((deployment) => {
      const until = cooling.get(deployment.deploymentId);
      const view: DeploymentView = {
        ...deployment,
        state: until !== undefined && until > now ? "cooling" : "healthy",
        inFlight: this.host.inFlight(deployment.deploymentId),
        lastMinute: lastMinute.get(deployment.deploymentId) ?? { requests: 0, tokens: 0, failures: 0 },
      };
      const change = this.states.get(deployment.deploymentId);
      if (change) view.since = change.since;
      if (view.state === "cooling") {
        view.until = until!;
        const why = this.reasons.get(deployment.deploymentId);
        if (why) view.reason = why.reason;
      }
      return view;
    });
  }

  /**
   * Each sink's counters; `healthy` is false while its errors or drops grew in the last 5 minutes
   * (the counters are totals since start, so an old incident does not stay red forever).
   */
  exporters(): ExporterView[] {
    const now = this.now();
    const stats = this.engine?.stats() ?? [];
    return stats
      .filter((entry) => entry.sink !== DASHBOARD_SINK)
      .map((entry) => {
        const seen = this.exporterTrouble.get(entry.sink);
        const bad = entry.errors + entry.dropped;
        if (!seen) this.exporterTrouble.set(entry.sink, { bad, changedAt: bad > 0 ? now : 0 });
        else if (bad > seen.bad) this.exporterTrouble.set(entry.sink, { bad, changedAt: now });
        const changedAt = this.exporterTrouble.get(entry.sink)!.changedAt;
        return { ...entry, healthy: changedAt === 0 || now - changedAt > 5 * 60_000 };
      });
  }
}

function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}
