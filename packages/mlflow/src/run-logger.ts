/**
 * `mlflowRunLogger()`: a batching callback sink that writes each call's numbers into MLflow runs,
 * as the LiteLLM MLflow callback of the seed set-up does: metrics latency_ms, prompt_tokens,
 * completion_tokens, total_tokens, cost_usd (and ttft_ms, overhead_ms, cached_tokens,
 * reasoning_tokens, attempts, fallbacks) and tags status, model, request_id, user_id, team_id,
 * cache_hit (and model_group, provider, deployment_id, call_type, stream, error_type, tags).
 * REST calls: runs/create, runs/log-batch (split to MLflow's limits), runs/update (FINISHED/FAILED).
 * No prompt or response content is ever logged.
 */
import { BatchingSink, exportHealth } from "@llmux/callbacks";
import type { CallEvent } from "./contracts";
import { isMlflowError } from "./errors";
import { resolveExperimentWith } from "./experiment";
import { createHttpClient, type MlflowHttpClient } from "./http-client";
import { createStderrLogger } from "./log";
import { type KeyValue, type LogBatchContent, type Metric, splitLogBatch, tag } from "./log-batch";
import type { MlflowRunGrouping, MlflowRunLoggerOptions, MlflowRunLoggerStats } from "./types";

export interface MlflowRunLogger {
  readonly name: string;
  readonly only: "all" | "success" | "failure";
  onSuccess(event: CallEvent): void;
  onFailure(event: CallEvent): void;
  flush(): Promise<void>;
  /** Sends what is buffered; by `options.deadline` (epoch ms) at the latest, losses counted and logged. */
  shutdown(options?: { deadline?: number }): Promise<void>;
  stats(): MlflowRunLoggerStats;
}

export function mlflowRunLogger(options: MlflowRunLoggerOptions = {}): MlflowRunLogger {
  return new RunLoggerSink(options);
}

interface CreateRunResponse {
  run?: { info?: { run_id?: string; run_uuid?: string } };
}

/** Metric and tag content of one call. */
export function callMetrics(event: CallEvent, step = 0): Metric[] {
  const timestamp = Math.round(event.timings.endTime);
  const metrics: Metric[] = [];
  const put = (key: string, value: number | undefined | null) => {
    if (typeof value === "number" && Number.isFinite(value)) metrics.push({ key, value, timestamp, step });
  };
  put("latency_ms", event.timings.durationMs);
  if (event.usage) {
    put("prompt_tokens", event.usage.inputTokens);
    put("completion_tokens", event.usage.outputTokens);
    put("total_tokens", event.usage.totalTokens);
    put("cached_tokens", event.usage.cachedInputTokens);
    put("reasoning_tokens", event.usage.reasoningTokens);
  }
  if (event.cost) put("cost_usd", event.cost.total);
  put("ttft_ms", event.timings.ttftMs);
  put("overhead_ms", event.timings.overheadMs);
  put("attempts", event.attempts.length);
  put("fallbacks", event.fallbacks);
  return metrics;
}

export function callTags(event: CallEvent): KeyValue[] {
  const tags: KeyValue[] = [];
  const put = (key: string, value: string | number | boolean | undefined) => {
    if (value !== undefined && value !== "") tags.push(tag(key, String(value)));
  };
  put("status", event.status);
  put("model", event.responseModel ?? event.requestedModel);
  put("request_id", event.callId);
  put("user_id", event.user);
  put("team_id", event.team);
  // llmux has no response cache: a hit means the provider served part of the prompt from its cache
  put("cache_hit", event.usage ? event.usage.cachedInputTokens > 0 : undefined);
  put("model_group", event.modelGroup);
  put("provider", event.provider);
  put("deployment_id", event.deploymentId);
  put("call_type", event.callType);
  put("stream", event.stream);
  put("session_id", event.session);
  put("response_id", event.responseId);
  if (event.error) {
    put("error_type", event.error.type);
    put("error_status", event.error.status);
  }
  if (event.tags.length > 0) put("tags", event.tags.join(","));
  if (event.costReason && !event.cost) put("cost_reason", event.costReason);
  put("mlflow.source.name", "llmux");
  put("mlflow.user", event.user);
  return tags;
}

class RunLoggerSink extends BatchingSink<CallEvent> implements MlflowRunLogger {
  readonly name: string;
  readonly only: "all" | "success" | "failure";
  private readonly client: MlflowHttpClient;
  private readonly experimentName: string;
  private experimentId: string | undefined;
  private readonly runPer: MlflowRunGrouping;
  private readonly concurrency: number;
  /** Calls already written (a retried batch skips them) and runs already created (resumed). */
  private readonly written = new WeakSet<CallEvent>();
  private readonly progress = new WeakMap<CallEvent, { runId: string; requestsDone: number }>();
  private readonly extra = { runs: 0, logBatchRequests: 0 };

  constructor(options: MlflowRunLoggerOptions) {
    super({
      maxBatchSize: options.maxBatchSize ?? 50,
      flushIntervalMs: options.flushIntervalMs ?? 5_000,
      maxBufferSize: options.maxBufferSize ?? 10_000,
      maxRetries: options.maxRetries ?? 3,
      retryBackoffMs: options.retryBackoffMs ?? 500,
      logger: options.logger ?? createStderrLogger(),
      ...(options.errorLogIntervalMs === undefined ? {} : { errorLogIntervalMs: options.errorLogIntervalMs }),
    });
    const env = options.env ?? process.env;
    this.client = createHttpClient({ ...options, env });
    this.name = options.name ?? "mlflow";
    this.only = options.only ?? "all";
    // runs delivered, failed and dropped: logged once per outage and counted for metrics
    this.health = exportHealth(this.name, "runs", { logger: this.logger });
    this.experimentName = options.experimentName ?? env.MLFLOW_EXPERIMENT_NAME ?? "llmux";
    const presetId = options.experimentId ?? env.MLFLOW_EXPERIMENT_ID;
    this.experimentId = presetId?.trim() ? presetId.trim() : undefined;
    this.runPer = options.runPer ?? "call";
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    if (this.runPer !== "call" && this.runPer !== "batch") {
      throw new TypeError(`mlflowRunLogger runPer must be "call" or "batch", not "${String(this.runPer)}"`);
    }
  }

  // Arrow functions bound to this instance: a gateway that wraps the sink (Object.create, to change
  // `only`) still buffers into the instance that flush(), shutdown() and the interval timer drain.
  readonly onSuccess = (event: CallEvent): void => {
    this.add(event);
  };

  readonly onFailure = (event: CallEvent): void => {
    this.add(event);
  };

  override stats(): MlflowRunLoggerStats {
    return { ...super.stats(), ...this.extra };
  }

  protected override isRetryable(error: unknown): boolean {
    if (!isMlflowError(error)) return true;
    if (error.kind === "network") return true;
    if (error.kind === "http")
      return error.status === 408 || error.status === 429 || (error.status ?? 0) >= 500;
    return false;
  }

  protected async send(batch: CallEvent[]): Promise<void> {
    this.experimentId ??= await resolveExperimentWith(this.client, this.experimentName);
    const experimentId = this.experimentId;
    if (this.runPer === "batch") {
      await this.writeBatchRun(batch, experimentId);
      return;
    }
    const pending = batch.filter((event) => !this.written.has(event));
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (next < pending.length && failure === undefined) {
        const event = pending[next++] as CallEvent;
        try {
          await this.writeCallRun(event, experimentId);
          this.written.add(event);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, pending.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  private async createRun(experimentId: string, runName: string, startTime: number): Promise<string> {
    const response = await this.client.callJson<CreateRunResponse>("POST", "/api/2.0/mlflow/runs/create", {
      json: { experiment_id: experimentId, run_name: runName, start_time: Math.round(startTime) },
    });
    const runId = response.run?.info?.run_id ?? response.run?.info?.run_uuid;
    if (typeof runId !== "string" || runId === "") throw new Error("runs/create answered without a run id");
    this.extra.runs++;
    return runId;
  }

  /** Sends the content in limit-sized requests, skipping those a previous try already sent. */
  private async logBatch(
    progress: { runId: string; requestsDone: number },
    content: LogBatchContent,
  ): Promise<void> {
    const requests = splitLogBatch(content);
    for (let index = progress.requestsDone; index < requests.length; index++) {
      await this.client.callJson("POST", "/api/2.0/mlflow/runs/log-batch", {
        json: { run_id: progress.runId, ...requests[index] },
      });
      this.extra.logBatchRequests++;
      progress.requestsDone = index + 1;
    }
  }

  private async finishRun(runId: string, status: "FINISHED" | "FAILED", endTime: number): Promise<void> {
    await this.client.callJson("POST", "/api/2.0/mlflow/runs/update", {
      json: { run_id: runId, status, end_time: Math.round(endTime) },
    });
  }

  private async writeCallRun(event: CallEvent, experimentId: string): Promise<void> {
    let progress = this.progress.get(event);
    if (progress === undefined) {
      const runId = await this.createRun(
        experimentId,
        `${event.callType}-${event.callId}`,
        event.timings.startTime,
      );
      progress = { runId, requestsDone: 0 };
      this.progress.set(event, progress);
    }
    await this.logBatch(progress, { metrics: callMetrics(event), params: [], tags: callTags(event) });
    await this.finishRun(
      progress.runId,
      event.status === "success" ? "FINISHED" : "FAILED",
      event.timings.endTime,
    );
  }

  private async writeBatchRun(batch: CallEvent[], experimentId: string): Promise<void> {
    const first = batch[0];
    if (first === undefined) return;
    let progress = this.progress.get(first);
    if (progress === undefined) {
      const startTime = Math.min(...batch.map((event) => event.timings.startTime));
      const runId = await this.createRun(
        experimentId,
        `llmux-batch-${new Date(startTime).toISOString()}`,
        startTime,
      );
      progress = { runId, requestsDone: 0 };
      this.progress.set(first, progress);
    }
    const metrics = batch.flatMap((event, index) => callMetrics(event, index));
    const failures = batch.filter((event) => event.status === "failure").length;
    const models = [...new Set(batch.map((event) => event.responseModel ?? event.requestedModel))].sort();
    const tags = [
      tag("llmux.run_per", "batch"),
      tag("calls", String(batch.length)),
      tag("failures", String(failures)),
      tag("models", models.join(",")),
      tag("mlflow.source.name", "llmux"),
    ];
    await this.logBatch(progress, { metrics, params: [], tags });
    await this.finishRun(
      progress.runId,
      "FINISHED",
      Math.max(...batch.map((event) => event.timings.endTime)),
    );
  }
}
