/**
 * The llmux metric instruments in one prom-client registry, and the state some of them read at
 * scrape time (calls in flight, deployment states, observed engines). One instance exists per
 * (registry, prefix): plugins created twice on the same registry share it instead of clashing.
 */
import {
  type EngineStatsSource,
  type ExportDropReason,
  exportHealthStats,
  type SharedStateDeltaStats,
  type SharedStateStatsSource,
} from "@llmux/callbacks";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DeferredCounter } from "./bound-series";
import {
  OPERATION_DURATION_BUCKETS,
  OVERHEAD_DURATION_BUCKETS,
  TIME_TO_FIRST_TOKEN_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from "./buckets";
import { DeploymentStates } from "./deployment-states";
import { prometheusError } from "./errors";
import { InFlightCalls } from "./in-flight-calls";
import { LabelGuard } from "./label-guard";

export interface LlmuxMetricsConfig {
  prefix: string;
  userLabels: boolean;
  teamLabels: boolean;
  keyLabels: boolean;
  maxLabelValues: number;
  inFlightStaleAfterMs: number;
}

/** Labels of every per-deployment metric. */
export const DEPLOYMENT_LABELS = ["model_group", "model", "provider", "deployment"] as const;

type Labels = Record<string, string>;

const DROP_REASONS: readonly ExportDropReason[] = ["queue_full", "export_failed", "shutdown"];

export class LlmuxMetrics {
  readonly config: LlmuxMetricsConfig;
  /** Labels added to the request, token and cost counters when opted in. */
  readonly optInLabels: string[];
  readonly guards: { modelGroup: LabelGuard; user: LabelGuard; team: LabelGuard; key: LabelGuard };
  readonly inFlightCalls: InFlightCalls;
  readonly deploymentStates = new DeploymentStates();
  /** deployment id -> model, learned from attempts and state changes, for cooldown labels. */
  readonly deploymentModels = new Map<string, string>();
  readonly engines = new Set<EngineStatsSource>();
  readonly sharedStates = new Set<SharedStateStatsSource>();
  processMetricsCollected = false;

  readonly requests: Counter<string>;
  readonly requestDuration: Histogram<string>;
  readonly upstreamDuration: Histogram<string>;
  readonly timeToFirstToken: Histogram<string>;
  readonly overheadDuration: Histogram<string>;
  readonly tokens: Counter<string>;
  readonly tokensPerRequest: Histogram<string>;
  readonly cost: Counter<string>;
  readonly inFlight: Gauge<string>;
  readonly retries: Counter<string>;
  readonly fallbacks: Counter<string>;
  readonly deploymentState: Gauge<string>;
  readonly cooldowns: Counter<string>;
  readonly droppedEvents: Counter<string>;
  readonly callbackErrors: Counter<string>;
  readonly queuedEvents: Gauge<string>;
  readonly sharedStateErrors: Counter<string>;
  readonly cacheHits: Counter<string>;
  readonly cacheMisses: Counter<string>;
  readonly cacheSavedCost: Counter<string>;
  readonly sharedStateDegraded: Gauge<string>;
  readonly sharedStateFlushes: Counter<string>;
  readonly sharedStateFlushFailures: Counter<string>;
  readonly sharedStateDeltasDropped: Counter<string>;
  readonly sharedStateDeltasPending: Gauge<string>;
  /** The per-call counters, increments summed per bound label set until read (bound-series.ts). */
  readonly deferred: {
    requests: DeferredCounter;
    tokens: DeferredCounter;
    cost: DeferredCounter;
    cacheHits: DeferredCounter;
    cacheMisses: DeferredCounter;
    cacheSavedCost: DeferredCounter;
  };
  readonly telemetryExportErrors: Counter<string>;
  readonly telemetryDroppedSpans: Counter<string>;
  readonly telemetryDroppedRecords: Counter<string>;

  constructor(registry: Registry, config: LlmuxMetricsConfig) {
    this.config = config;
    const { prefix } = config;
    this.optInLabels = [
      ...(config.userLabels ? ["user"] : []),
      ...(config.teamLabels ? ["team"] : []),
      ...(config.keyLabels ? ["key"] : []),
    ];
    this.guards = {
      modelGroup: new LabelGuard(config.maxLabelValues),
      user: new LabelGuard(config.maxLabelValues),
      team: new LabelGuard(config.maxLabelValues),
      key: new LabelGuard(config.maxLabelValues),
    };
    this.inFlightCalls = new InFlightCalls(config.inFlightStaleAfterMs);

    const names = [
      "requests_total",
      "request_duration_seconds",
      "upstream_duration_seconds",
      "time_to_first_token_seconds",
      "overhead_duration_seconds",
      "tokens_total",
      "tokens_per_request",
      "cost_usd_total",
      "in_flight_requests",
      "retries_total",
      "fallbacks_total",
      "deployment_state",
      "deployment_cooldowns_total",
      "callback_dropped_events_total",
      "callback_errors_total",
      "callback_queued_events",
    ].map((name) => prefix + name);
    for (const name of names) {
      if (registry.getSingleMetric(name) !== undefined) {
        throw prometheusError(
          "llmux.prometheus.metric_conflict",
          `@llmux/prometheus: the registry already has a metric named "${name}" that llmux did not create; ` +
            `pass another \`prefix\` (now "${prefix}") or another \`registry\``,
        );
      }
    }

    const registers = [registry];
    const deployment = [...DEPLOYMENT_LABELS];
    const self = this;

    this.requests = new Counter({
      name: `${prefix}requests_total`,
      help: "LLM calls handled by the gateway, by the outcome's HTTP status code",
      labelNames: [...deployment, "status_code", ...this.optInLabels],
      registers,
      collect() {
        self.deferred.requests.flush();
      },
    });
    this.requestDuration = new Histogram({
      name: `${prefix}request_duration_seconds`,
      help: "Whole-call duration as the client saw it (all attempts and fallbacks), in seconds",
      labelNames: [...deployment, "status_code"],
      buckets: [...OPERATION_DURATION_BUCKETS],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: `${prefix}upstream_duration_seconds`,
      help: "Duration of each upstream attempt, in seconds",
      labelNames: [...deployment, "status_code"],
      buckets: [...OPERATION_DURATION_BUCKETS],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: `${prefix}time_to_first_token_seconds`,
      help: "Time from the call's start to its first streamed token (streams only), in seconds",
      labelNames: deployment,
      buckets: [...TIME_TO_FIRST_TOKEN_BUCKETS],
      registers,
    });
    this.overheadDuration = new Histogram({
      name: `${prefix}overhead_duration_seconds`,
      help: "Time the gateway itself added to a call (duration minus upstream time), in seconds",
      labelNames: [...deployment, "status_code"],
      buckets: [...OVERHEAD_DURATION_BUCKETS],
      registers,
    });
    this.tokens = new Counter({
      name: `${prefix}tokens_total`,
      help:
        "Tokens by type: input (cached included), output (reasoning included), cached_input, " +
        "cache_creation, reasoning. Types overlap: do not sum across them",
      labelNames: [...deployment, "type", ...this.optInLabels],
      registers,
      collect() {
        self.deferred.tokens.flush();
      },
    });
    this.tokensPerRequest = new Histogram({
      name: `${prefix}tokens_per_request`,
      help: "Input and output tokens of one call",
      labelNames: [...deployment, "type"],
      buckets: [...TOKEN_USAGE_BUCKETS],
      registers,
    });
    this.cost = new Counter({
      name: `${prefix}cost_usd_total`,
      help: "Cost of calls in US dollars (calls of unpriced models add nothing)",
      labelNames: [...deployment, ...this.optInLabels],
      registers,
      collect() {
        self.deferred.cost.flush();
      },
    });
    this.inFlight = new Gauge({
      name: `${prefix}in_flight_requests`,
      help: "Calls started and not yet ended, by requested model group",
      labelNames: ["model_group"],
      registers,
      collect() {
        self.inFlight.reset();
        for (const [group, count] of self.inFlightCalls.countByGroup())
          self.inFlight.set({ model_group: group }, count);
      },
    });
    this.retries = new Counter({
      name: `${prefix}retries_total`,
      help: "Attempts retried in the same model group, by the deployment and status of the failed attempt",
      labelNames: [...deployment, "status_code"],
      registers,
    });
    this.fallbacks = new Counter({
      name: `${prefix}fallbacks_total`,
      help: "Fallbacks from one model group to another, by reason (error kind)",
      labelNames: ["model_group", "fallback_model_group", "reason"],
      registers,
    });
    this.deploymentState = new Gauge({
      name: `${prefix}deployment_state`,
      help: "Deployment state: 0 healthy, 1 cooling down (out of rotation)",
      labelNames: deployment,
      registers,
      collect() {
        self.deploymentState.reset();
        for (const entry of self.deploymentStates.current(Date.now())) {
          self.deploymentState.set(entry.labels, entry.value);
        }
      },
    });
    this.cooldowns = new Counter({
      name: `${prefix}deployment_cooldowns_total`,
      help: "Times a deployment was put in cooldown, by reason (error kind)",
      labelNames: [...deployment, "reason"],
      registers,
    });
    this.droppedEvents = new Counter({
      name: `${prefix}callback_dropped_events_total`,
      help: "Callback events dropped because a sink's queue was full",
      labelNames: ["sink"],
      registers,
      collect() {
        self.#reportEngineStat(self.droppedEvents, "dropped");
      },
    });
    this.callbackErrors = new Counter({
      name: `${prefix}callback_errors_total`,
      help: "Errors thrown by callback sinks (counted and logged, never seen by clients)",
      labelNames: ["sink"],
      registers,
      collect() {
        self.#reportEngineStat(self.callbackErrors, "errors");
      },
    });
    this.queuedEvents = new Gauge({
      name: `${prefix}callback_queued_events`,
      help: "Callback events waiting in a sink's queue",
      labelNames: ["sink"],
      registers,
      collect() {
        const totals = self.#engineTotals("queued");
        self.queuedEvents.reset();
        for (const [sink, value] of totals) self.queuedEvents.set({ sink }, value);
      },
    });
    this.cacheHits = new Counter({
      name: `${prefix}cache_hits_total`,
      help: "Calls answered from the response cache (no upstream call, cost 0)",
      labelNames: deployment,
      registers,
      collect() {
        self.deferred.cacheHits.flush();
      },
    });
    this.cacheMisses = new Counter({
      name: `${prefix}cache_misses_total`,
      help: "Cacheable calls the response cache could not answer (sent upstream)",
      labelNames: deployment,
      registers,
      collect() {
        self.deferred.cacheMisses.flush();
      },
    });
    this.cacheSavedCost = new Counter({
      name: `${prefix}cache_saved_cost_usd_total`,
      help: "What the calls answered from the response cache would have cost (USD)",
      labelNames: deployment,
      registers,
      collect() {
        self.deferred.cacheSavedCost.flush();
      },
    });
    this.deferred = {
      requests: new DeferredCounter(this.requests),
      tokens: new DeferredCounter(this.tokens),
      cost: new DeferredCounter(this.cost),
      cacheHits: new DeferredCounter(this.cacheHits),
      cacheMisses: new DeferredCounter(this.cacheMisses),
      cacheSavedCost: new DeferredCounter(this.cacheSavedCost),
    };
    this.sharedStateErrors = new Counter({
      name: `${prefix}shared_state_errors_total`,
      help: "Operations on the shared state store (Redis) that failed or timed out and were answered from local state",
      labelNames: ["store"],
      registers,
      collect() {
        self.sharedStateErrors.reset();
        for (const source of self.sharedStates) {
          const stats = safeStats(source);
          if (stats) self.sharedStateErrors.inc({ store: stats.store }, stats.errors);
        }
      },
    });
    this.sharedStateDegraded = new Gauge({
      name: `${prefix}shared_state_degraded`,
      help: "1 while the shared state store (Redis) is failing and the instance runs on local state",
      labelNames: ["store"],
      registers,
      collect() {
        self.sharedStateDegraded.reset();
        for (const source of self.sharedStates) {
          const stats = safeStats(source);
          if (stats) self.sharedStateDegraded.set({ store: stats.store }, stats.degraded ? 1 : 0);
        }
      },
    });
    // The router's local-first sync (SharedRouterState's deltaStats), when the gateway reports it.
    this.sharedStateFlushes = new Counter({
      name: `${prefix}shared_state_flushes_total`,
      help: "Batches of the router's summed counts (requests, tokens, calls in flight) the shared state store took",
      labelNames: ["store"],
      registers,
      collect() {
        self.sharedStateFlushes.reset();
        for (const { store, deltas } of self.#deltaStats())
          self.sharedStateFlushes.inc({ store }, deltas.flushes);
      },
    });
    this.sharedStateFlushFailures = new Counter({
      name: `${prefix}shared_state_flush_failures_total`,
      help: "Batches of the router's summed counts the shared state store did not take (kept for the next batch)",
      labelNames: ["store"],
      registers,
      collect() {
        self.sharedStateFlushFailures.reset();
        for (const { store, deltas } of self.#deltaStats())
          self.sharedStateFlushFailures.inc({ store }, deltas.failedFlushes);
      },
    });
    this.sharedStateDeltasDropped = new Counter({
      name: `${prefix}shared_state_deltas_dropped_total`,
      help: "Requests and tokens counted locally but never written to the shared state store: their minute ended more than a minute before the store took them",
      labelNames: ["store", "kind"],
      registers,
      collect() {
        self.sharedStateDeltasDropped.reset();
        for (const { store, deltas } of self.#deltaStats()) {
          self.sharedStateDeltasDropped.inc({ store, kind: "requests" }, deltas.droppedRequests);
          self.sharedStateDeltasDropped.inc({ store, kind: "tokens" }, deltas.droppedTokens);
        }
      },
    });
    this.sharedStateDeltasPending = new Gauge({
      name: `${prefix}shared_state_deltas_pending`,
      help: "Requests, tokens and the net change of calls in flight counted locally and not yet written to the shared state store",
      labelNames: ["store", "kind"],
      registers,
      collect() {
        self.sharedStateDeltasPending.reset();
        for (const { store, deltas } of self.#deltaStats()) {
          self.sharedStateDeltasPending.inc({ store, kind: "requests" }, deltas.pendingRequests);
          self.sharedStateDeltasPending.inc({ store, kind: "tokens" }, deltas.pendingTokens);
          self.sharedStateDeltasPending.inc({ store, kind: "in_flight" }, deltas.pendingInFlight);
        }
      },
    });
    // Telemetry exports (OTLP/Langfuse/MLflow spans, Langfuse scores, MLflow runs): process-wide totals
    // kept by @llmux/callbacks' export health records, read at scrape time.
    this.telemetryExportErrors = new Counter({
      name: `${prefix}telemetry_export_errors_total`,
      help: "Telemetry exports (span batches, scores, runs) that failed for good, after the exporter's own retries",
      labelNames: ["exporter", "signal"],
      registers,
      collect() {
        self.telemetryExportErrors.reset();
        for (const stats of exportHealthStats())
          self.telemetryExportErrors.inc(
            { exporter: stats.exporter, signal: stats.signal },
            stats.exportErrors,
          );
      },
    });
    this.telemetryDroppedSpans = new Counter({
      name: `${prefix}telemetry_dropped_spans_total`,
      help: "Spans an exporter lost: queue_full (its bounded queue refused them), export_failed (a failed or unanswered export), shutdown (not delivered by the shutdown deadline)",
      labelNames: ["exporter", "reason"],
      registers,
      collect() {
        self.telemetryDroppedSpans.reset();
        for (const stats of exportHealthStats()) {
          if (stats.signal !== "spans") continue;
          for (const reason of DROP_REASONS)
            self.telemetryDroppedSpans.inc({ exporter: stats.exporter, reason }, stats.dropped[reason]);
        }
      },
    });
    this.telemetryDroppedRecords = new Counter({
      name: `${prefix}telemetry_dropped_records_total`,
      help: "Langfuse scores and MLflow runs lost, by reason (as for spans)",
      labelNames: ["exporter", "signal", "reason"],
      registers,
      collect() {
        self.telemetryDroppedRecords.reset();
        for (const stats of exportHealthStats()) {
          if (stats.signal === "spans") continue;
          for (const reason of DROP_REASONS)
            self.telemetryDroppedRecords.inc(
              { exporter: stats.exporter, signal: stats.signal, reason },
              stats.dropped[reason],
            );
        }
      },
    });
  }

  /** Hands every summed increment to prom-client (before the bound label sets are dropped). */
  flushDeferred(): void {
    for (const counter of Object.values(this.deferred)) counter.flush();
  }

  /** Labels with the opt-in user/team/key labels added (guarded) when enabled. */
  withOptInLabels(labels: Labels, who: { user?: string; team?: string; key?: string }): Labels {
    if (this.config.userLabels) labels["user"] = this.guards.user.value(who.user);
    if (this.config.teamLabels) labels["team"] = this.guards.team.value(who.team);
    if (this.config.keyLabels) labels["key"] = this.guards.key.value(who.key);
    return labels;
  }

  /** The delta sync statistics of the observed shared states that report them (well-formed ones). */
  #deltaStats(): Array<{ store: string; deltas: SharedStateDeltaStats }> {
    const reports: Array<{ store: string; deltas: SharedStateDeltaStats }> = [];
    for (const source of this.sharedStates) {
      const stats = safeStats(source);
      const deltas = stats?.deltas;
      if (!stats || !deltas || typeof deltas !== "object") continue;
      reports.push({
        store: stats.store,
        deltas: {
          flushes: countOf(deltas.flushes),
          failedFlushes: countOf(deltas.failedFlushes),
          pendingRequests: countOf(deltas.pendingRequests),
          pendingTokens: countOf(deltas.pendingTokens),
          pendingInFlight: Number.isFinite(deltas.pendingInFlight) ? deltas.pendingInFlight : 0,
          droppedRequests: countOf(deltas.droppedRequests),
          droppedTokens: countOf(deltas.droppedTokens),
        },
      });
    }
    return reports;
  }

  #engineTotals(field: "dropped" | "errors" | "queued"): Map<string, number> {
    const totals = new Map<string, number>();
    for (const engine of this.engines) {
      let stats: ReturnType<EngineStatsSource["stats"]>;
      try {
        stats = engine.stats();
      } catch {
        continue;
      }
      for (const entry of stats) {
        const value = Number(entry[field]);
        if (!Number.isFinite(value) || value < 0) continue;
        totals.set(entry.sink, (totals.get(entry.sink) ?? 0) + value);
      }
    }
    return totals;
  }

  #reportEngineStat(counter: Counter<string>, field: "dropped" | "errors"): void {
    const totals = this.#engineTotals(field);
    counter.reset();
    for (const [sink, value] of totals) counter.inc({ sink }, value);
  }
}

/** A count as a counter can take it: a finite number ≥ 0, else 0. */
function countOf(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

function safeStats(source: SharedStateStatsSource): ReturnType<SharedStateStatsSource["stats"]> | undefined {
  try {
    return source.stats();
  } catch {
    return undefined;
  }
}

const shared = new WeakMap<Registry, Map<string, LlmuxMetrics>>();

/** The llmux metrics of `registry` under `config.prefix`, created on first use. */
export function llmuxMetricsFor(registry: Registry, config: LlmuxMetricsConfig): LlmuxMetrics {
  let byPrefix = shared.get(registry);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    shared.set(registry, byPrefix);
  }
  const existing = byPrefix.get(config.prefix);
  if (existing !== undefined) {
    const a = existing.config;
    if (
      a.userLabels !== config.userLabels ||
      a.teamLabels !== config.teamLabels ||
      a.keyLabels !== config.keyLabels
    ) {
      throw prometheusError(
        "llmux.prometheus.metric_conflict",
        `@llmux/prometheus: another plugin already registered "${config.prefix}*" metrics in this registry ` +
          "with different user/team/key labels; use the same label options or another `prefix`",
      );
    }
    return existing;
  }
  const created = new LlmuxMetrics(registry, config);
  byPrefix.set(config.prefix, created);
  return created;
}
