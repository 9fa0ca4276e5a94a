/**
 * Public types of @llmux/dashboard: what the gateway hands the dashboard (`DashboardHost`), its
 * options, and the JSON shapes of its data endpoints (documented in docs/dashboard.md).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorKind, LlmuxPlugin, Logger, PluginRoute, SinkStats } from "@llmux/callbacks";

/** One deployment of the gateway's config, as the dashboard shows it. */
export interface DeploymentInfo {
  modelGroup: string;
  deploymentId: string;
  provider: string;
  model: string;
  rpm?: number;
  tpm?: number;
  maxParallelRequests?: number;
}

/**
 * What the gateway gives the dashboard (built by @llmux/core's `createDashboardHandler`), so the
 * dashboard never depends on the core itself.
 */
export interface DashboardHost {
  /**
   * The admin check of the management routes: resolves for the master key (or an admin key), throws
   * an error with `status` (401/403) and `message` otherwise. Reads headers only.
   */
  authenticate(request: IncomingMessage): Promise<unknown>;
  /** Registers the dashboard's plugin (its sink, engine observer and deployment-state hook). */
  addPlugin(plugin: LlmuxPlugin): void;
  /** `turn_off_message_logging`: no prompt or response content is kept or shown. */
  readonly redact: boolean;
  deployments(): DeploymentInfo[];
  /** Deployments cooling down now, with when they return. */
  cooling(): Array<{ deploymentId: string; until: number }>;
  inFlight(deploymentId: string): number;
  /** The gateway's plugin routes (the control plane's /key/* and /spend/* when it is configured). */
  routes(): PluginRoute[];
  logger?: Logger;
}

export interface DashboardOptions {
  /** Calls kept in memory with their detail (default 1000). */
  maxCalls?: number;
  /** Minutes of per-minute aggregates kept (default 1440 = 24 h). */
  retentionMinutes?: number;
  /** Distinct names per dimension (user, key, team) per minute before the rest count as "(other)" (default 50). */
  maxNamesPerMinute?: number;
  /** Bytes of a call's messages/response kept for its detail view (default 32 768). */
  maxContentBytes?: number;
  /** Injected clock (tests). */
  now?: () => number;
}

/**
 * The dashboard: its plugin (registered with the gateway) and a Node handler for everything under
 * its mount point. `handle` resolves false for a path that is not the dashboard's.
 */
export interface Dashboard {
  readonly plugin: LlmuxPlugin;
  handle(request: IncomingMessage, response: ServerResponse, parsedBody?: unknown): Promise<boolean>;
}

/** One call in the list (GET api/calls). */
export interface CallSummary {
  /** Increasing sequence number: `?since=<seq>` returns the newer calls. */
  seq: number;
  callId: string;
  /** Epoch ms when the gateway received the call. */
  time: number;
  callType: string;
  stream: boolean;
  modelGroup: string;
  requestedModel: string;
  deploymentId?: string;
  provider?: string;
  status: "success" | "failure";
  /** HTTP status the client received (200 on success). */
  httpStatus: number;
  errorType?: ErrorKind;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** USD; null when the call was not priced (see costReason). */
  cost: number | null;
  costReason?: string;
  latencyMs: number;
  ttftMs?: number;
  user?: string;
  team?: string;
  keyAlias?: string;
  attempts: number;
  fallbacks: number;
}

export interface AttemptView {
  index: number;
  modelGroup: string;
  deploymentId: string;
  provider: string;
  model: string;
  apiBase?: string;
  startTime: number;
  latencyMs: number;
  outcome: "success" | "failure" | "aborted";
  fallback: boolean;
  error?: { type: ErrorKind; status: number; message: string; upstreamStatus?: number };
}

/** One call with its attempts, error and (unless content logging is off) messages (GET api/calls/{id}). */
export interface CallDetail extends CallSummary {
  attemptList: AttemptView[];
  error?: { type: ErrorKind; status: number; message: string; provider?: string; upstreamStatus?: number };
  tags: string[];
  session?: string;
  requestParams: Record<string, unknown>;
  timings: { durationMs: number; upstreamMs: number; overheadMs: number; ttftMs?: number };
  /** true when content logging is off: no messages or response. */
  redacted: boolean;
  messages?: unknown;
  response?: unknown;
  /** true when messages/response were cut to the dashboard's size limit. */
  truncated?: boolean;
}

export type SpendDimension = "model" | "key" | "user" | "team";

export interface SpendSeries {
  name: string;
  /** One value per bucket of `times`. */
  spend: number[];
  tokens: number[];
  calls: number[];
}

/** GET api/spend: spend and tokens over time by one dimension. */
export interface SpendReport {
  source: "memory" | "control";
  by: SpendDimension;
  /** Bucket start times (epoch ms). */
  times: number[];
  bucketMs: number;
  series: SpendSeries[];
  totals: { spend: number; tokens: number; calls: number };
}

/** GET api/models: per model group over the window. */
export interface ModelGroupStats {
  modelGroup: string;
  calls: number;
  errors: number;
  errorRate: number;
  spend: number;
  tokens: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
  ttftMs: { p50: number | null; p90: number | null };
}

/** GET api/deployments. */
export interface DeploymentView extends DeploymentInfo {
  state: "healthy" | "cooling";
  /** Epoch ms when a cooling deployment returns to rotation. */
  until?: number;
  /** Why it cooled down (the error class of the failure that triggered it). */
  reason?: ErrorKind;
  /** Epoch ms of the last state change seen. */
  since?: number;
  inFlight: number;
  /** Requests and tokens in the last 60 s (what rpm/tpm limits count). */
  lastMinute: { requests: number; tokens: number; failures: number };
}

/** GET api/exporters: each telemetry sink's health. */
export interface ExporterView extends SinkStats {
  healthy: boolean;
}

export type { SinkStats };
