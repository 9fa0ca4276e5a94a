/**
 * `mlflowExporter()`: an OpenTelemetry SpanExporter that sends spans to an MLflow tracking server.
 * OTLP/HTTP protobuf to `{tracking URI}/v1/traces` with `x-mlflow-experiment-id` (MLflow ≥ 3.6), or
 * MLflow's REST trace API for older 3.x servers (see rest-trace.ts). Off the request path: `export()`
 * only copies spans into a bounded buffer and returns; a single background loop resolves the
 * experiment (lazily, retried with backoff), sends, retries with backoff and counts what it drops.
 * Deliveries and losses also go to its export health record (`exportHealth("mlflow", "spans")`):
 * the first loss of an outage and the recovery are logged once each, Prometheus counts them.
 */
import { type ExportHealth, exportHealth } from "@llmux/callbacks";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { backoffDelay, interruptibleSleep, resolveRetry } from "./backoff";
import type { Logger } from "./contracts";
import { createMlflowError, isMlflowError, type MlflowError } from "./errors";
import { resolveExperimentWith } from "./experiment";
import { createHttpClient, type MlflowHttpClient } from "./http-client";
import { createStderrLogger, RateLimitedLogger } from "./log";
import { EXPERIMENT_ID_HEADER, encodeSpans, OTLP_CONTENT_TYPE, OTLP_TRACES_PATH } from "./otlp";
import {
  buildTraceData,
  buildTraceInfo,
  callSpanOf,
  completeTrace,
  type SerializedTraceInfo,
  startTrace,
  type TraceGroup,
  uploadTraceData,
} from "./rest-trace";
import { RootPromoter } from "./root-promotion";
import { TraceAssembler } from "./trace-assembler";
import type { MlflowExporterOptions, MlflowExporterStats, MlflowExportMode } from "./types";

/** The exporter plus its counters. */
export interface MlflowSpanExporter extends SpanExporter {
  stats(): MlflowExporterStats;
  forceFlush(): Promise<void>;
}

interface RestWork {
  group: TraceGroup;
  info?: SerializedTraceInfo;
  data?: string;
  /** Set once StartTraceV3 succeeded, so a retry only repeats the upload. */
  artifactLocation?: string;
  failures: number;
}

type OtlpOutcome = "ok" | "retry" | "drop" | "no-endpoint" | "split";

/** OTLP mode: a trace info to write with StartTraceV3 once the trace's root went through /v1/traces. */
interface InfoWork {
  info: SerializedTraceInfo;
  failures: number;
}

/** Call spans remembered (by OTel trace id) until their trace's root arrives in a later batch. */
const MAX_PENDING_CALLS = 1024;

const NO_OTLP_STATUSES = new Set([404, 405, 501]);

export function mlflowExporter(options: MlflowExporterOptions = {}): MlflowSpanExporter {
  return new MlflowExporter(options);
}

class MlflowExporter implements MlflowSpanExporter {
  private readonly client: MlflowHttpClient;
  private readonly logger: Logger;
  private readonly limited: RateLimitedLogger;
  private readonly retry;
  private readonly configuredMode: MlflowExportMode;
  private readonly experimentName: string;
  private readonly maxBuffered: number;
  private readonly flushTimeoutMs: number;
  private readonly assembler: TraceAssembler;
  private readonly promoter: RootPromoter;

  private mode: MlflowExportMode;
  private experimentId: string | undefined;
  private batchSize: number;
  private buffer: ReadableSpan[] = [];
  private readonly restQueue: RestWork[] = [];
  private readonly infoQueue: InfoWork[] = [];
  /** OTLP mode: call spans whose trace root (a host span) has not been sent yet. */
  private readonly pendingCalls = new Map<string, ReadableSpan>();
  private traceInfoUnsupported = false;
  private restQueuedSpans = 0;
  private otlpSucceeded = false;
  private restUnsupported = false;
  private experimentFailures = 0;
  private batchFailures = 0;
  private running = false;
  private closing = false;
  private stopped = false;
  private sleeper: { wake: () => void } | undefined;
  private idleWaiters: Array<() => void> = [];
  private shutdownPromise: Promise<void> | undefined;
  /**
   * Delivery as the tracking server saw it (export() only buffers): the batch processor in front
   * reports its own queue and shutdown losses here instead of counting buffered spans as delivered.
   */
  readonly exportHealth: ExportHealth;
  private readonly counters = {
    exportedSpans: 0,
    droppedSpans: 0,
    exportedTraces: 0,
    failedRequests: 0,
    skippedSpans: 0,
  };

  constructor(options: MlflowExporterOptions) {
    const env = options.env ?? process.env;
    this.client = createHttpClient({ ...options, env });
    this.logger = options.logger ?? createStderrLogger();
    this.limited = new RateLimitedLogger(this.logger, options.errorLogIntervalMs ?? 30_000);
    this.exportHealth = exportHealth("mlflow", "spans", { logger: this.logger });
    this.retry = resolveRetry(options.retry);
    this.configuredMode = options.mode ?? "auto";
    if (!["auto", "otlp", "rest"].includes(this.configuredMode)) {
      throw createMlflowError(
        "config",
        `mlflow exporter mode must be "auto", "otlp" or "rest", not "${String(this.configuredMode)}"`,
      );
    }
    this.mode = this.configuredMode;
    this.experimentName = options.experimentName ?? env.MLFLOW_EXPERIMENT_NAME ?? "llmux";
    const presetId = options.experimentId ?? env.MLFLOW_EXPERIMENT_ID;
    this.experimentId = presetId?.trim() ? presetId.trim() : undefined;
    this.maxBuffered = Math.max(1, options.maxBufferedSpans ?? 2048);
    this.batchSize = Math.max(1, options.maxExportBatchSize ?? 512);
    this.flushTimeoutMs = Math.max(0, options.flushTimeoutMs ?? 10_000);
    this.promoter = new RootPromoter(options.promoteCallSpansToRoots ?? true);
    this.assembler = new TraceAssembler({
      timeoutMs: Math.max(0, options.traceAssemblyTimeoutMs ?? 10_000),
      maxPendingSpans: this.maxBuffered,
      ...(options.isRootSpan ? { isRootSpan: options.isRootSpan } : {}),
      onGroup: (group) => this.enqueueGroup(group),
      onLateSpan: () => {
        this.counters.droppedSpans++;
        this.limited.log(
          "warn",
          "late-span",
          "mlflow exporter dropped a span that ended after its trace was written",
        );
      },
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.closing) {
      this.counters.droppedSpans += spans.length;
      this.exportHealth.droppedAtShutdown(spans.length, "they ended after the exporter shut down");
      resultCallback({ code: ExportResultCode.FAILED, error: new Error("mlflow exporter is shut down") });
      return;
    }
    const room = Math.max(0, this.maxBuffered - this.bufferedSpans());
    const accepted = spans.length <= room ? spans : spans.slice(0, room);
    const dropped = spans.length - accepted.length;
    if (dropped > 0) {
      this.counters.droppedSpans += dropped;
      this.exportHealth.droppedQueueFull(dropped);
      this.limited.log("warn", "buffer-full", "mlflow exporter buffer is full: spans dropped", {
        dropped,
        maxBufferedSpans: this.maxBuffered,
      });
    }
    for (const span of accepted) this.buffer.push(span);
    // accepted spans are the exporter's business now: the span processor is never held up
    resultCallback({ code: ExportResultCode.SUCCESS });
    this.kick();
  }

  stats(): MlflowExporterStats {
    return {
      mode: this.mode,
      experimentId: this.experimentId,
      ...this.counters,
      bufferedSpans: this.bufferedSpans(),
    };
  }

  async forceFlush(): Promise<void> {
    await this.drain();
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.closing = true;
      this.assembler.releaseAll();
      await this.drain();
      this.stopped = true;
      this.sleeper?.wake();
      const left = this.bufferedSpans();
      if (left > 0) {
        this.counters.droppedSpans += left;
        this.exportHealth.droppedAtShutdown(
          left,
          "the tracking server had not taken them when the exporter shut down",
        );
        this.limited.log("warn", "shutdown-left", "mlflow exporter shut down with undelivered spans", {
          dropped: left,
        });
      }
      this.buffer = [];
      this.restQueue.length = 0;
      this.infoQueue.length = 0;
      this.restQueuedSpans = 0;
      this.assembler.dispose();
    })();
    return this.shutdownPromise;
  }

  private bufferedSpans(): number {
    return this.buffer.length + this.assembler.size + this.restQueuedSpans;
  }

  private hasReadyWork(): boolean {
    return this.buffer.length > 0 || this.restQueue.length > 0 || this.infoQueue.length > 0;
  }

  /** Waits until the loop has nothing ready to send, or the flush timeout. */
  private drain(): Promise<void> {
    if (!this.hasReadyWork() && !this.running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(finish, this.flushTimeoutMs);
      timer.unref?.();
      this.idleWaiters.push(finish);
      // a flush tries now rather than at the end of the current backoff
      this.sleeper?.wake();
      this.kick();
    });
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop()
      .catch(async (error: unknown) => {
        this.limited.log("error", "loop", "mlflow exporter loop failed", { error: describe(error) });
        // an unexpected failure must not turn into a busy loop
        await this.sleep(1000);
      })
      .finally(() => {
        this.running = false;
        if (this.hasReadyWork() && !this.stopped) {
          this.kick();
          return;
        }
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const waiter of waiters) waiter();
      });
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.hasReadyWork()) {
      if (this.experimentId === undefined) {
        await this.resolveExperimentOnce();
        continue;
      }
      if (this.mode === "rest") await this.restStep(this.experimentId);
      else if (this.buffer.length > 0) await this.otlpStep(this.experimentId);
      else await this.infoStep();
    }
  }

  private async resolveExperimentOnce(): Promise<void> {
    try {
      this.experimentId = await resolveExperimentWith(this.client, this.experimentName);
      this.experimentFailures = 0;
      this.logger.info("mlflow exporter: traces go to experiment", {
        experimentName: this.experimentName,
        experimentId: this.experimentId,
      });
    } catch (error) {
      this.counters.failedRequests++;
      this.experimentFailures++;
      this.limited.log(
        "warn",
        "experiment",
        "mlflow exporter cannot resolve the experiment yet; spans are buffered",
        {
          experimentName: this.experimentName,
          error: describe(error),
        },
      );
      await this.sleep(backoffDelay(this.retry, this.experimentFailures));
    }
  }

  private async otlpStep(experimentId: string): Promise<void> {
    const batch = this.buffer.slice(0, this.batchSize);
    let prepared: ReadableSpan[];
    try {
      prepared = this.promoter.prepare(batch);
    } catch (error) {
      this.dropBatch(batch.length, `could not prepare spans: ${describe(error)}`);
      return;
    }
    const outcome = await this.sendOtlp(prepared, experimentId);
    switch (outcome) {
      case "ok":
        this.buffer.splice(0, batch.length);
        this.queueTraceInfos(prepared, experimentId);
        this.counters.exportedSpans += batch.length;
        this.exportHealth.succeeded(batch.length);
        this.batchFailures = 0;
        this.otlpSucceeded = true;
        if (this.mode === "auto") this.mode = "otlp";
        return;
      case "split":
        this.batchSize = Math.max(1, Math.floor(batch.length / 2));
        return;
      case "no-endpoint":
        if (this.configuredMode === "auto" && !this.otlpSucceeded) {
          this.mode = "rest";
          this.batchFailures = 0;
          this.logger.info(
            "mlflow exporter: the tracking server has no OTLP endpoint (/v1/traces, MLflow ≥ 3.6); using the REST trace API",
          );
          return;
        }
        this.dropBatch(
          batch.length,
          'the tracking server has no OTLP endpoint at /v1/traces (MLflow ≥ 3.6 needed, or mode: "rest")',
        );
        return;
      case "drop":
        this.buffer.splice(0, batch.length);
        this.counters.droppedSpans += batch.length;
        this.exportHealth.failed(batch.length, new Error("the tracking server rejected the batch"));
        this.batchFailures = 0;
        return;
      case "retry":
        this.batchFailures++;
        if (this.batchFailures >= this.retry.maxAttempts) {
          this.dropBatch(batch.length, `gave up after ${this.batchFailures} attempts`);
          return;
        }
        await this.sleep(backoffDelay(this.retry, this.batchFailures));
        return;
    }
  }

  private dropBatch(count: number, reason: string): void {
    this.buffer.splice(0, count);
    this.counters.droppedSpans += count;
    this.exportHealth.failed(count, new Error(reason));
    this.batchFailures = 0;
    this.limited.log("error", `drop:${reason}`, "mlflow exporter dropped spans", { dropped: count, reason });
  }

  /**
   * After a batch went through /v1/traces: one trace info per trace whose root was in it (a
   * promoted call span, or the host's root span with its call span from this or an earlier batch).
   */
  private queueTraceInfos(spans: ReadableSpan[], experimentId: string): void {
    if (this.traceInfoUnsupported) return;
    for (const span of spans) {
      if (span.parentSpanContext !== undefined && callSpanOf([span])) {
        if (this.pendingCalls.size >= MAX_PENDING_CALLS) {
          const oldest = this.pendingCalls.keys().next().value;
          if (oldest !== undefined) this.pendingCalls.delete(oldest);
        }
        this.pendingCalls.set(span.spanContext().traceId, span);
      }
    }
    for (const root of spans) {
      if (root.parentSpanContext !== undefined) continue;
      const traceId = root.spanContext().traceId;
      const call = callSpanOf([root]) ?? this.pendingCalls.get(traceId);
      if (!call) continue; // not a trace llmux called in (the host's other requests)
      this.pendingCalls.delete(traceId);
      if (this.infoQueue.length >= this.maxBuffered) {
        this.counters.failedRequests++;
        this.limited.log(
          "warn",
          "info-full",
          "mlflow exporter: trace info queue full; a trace keeps its span data only",
        );
        continue;
      }
      const group: TraceGroup = {
        mlflowTraceId: `tr-${traceId}`,
        otelTraceId: traceId,
        rootSpanIds: new Set([root.spanContext().spanId]),
        root,
        spans: [root],
      };
      this.infoQueue.push({ info: buildTraceInfo(group, experimentId, call), failures: 0 });
    }
  }

  /** Writes one queued trace info (StartTraceV3); retried like a batch, dropped when refused. */
  private async infoStep(): Promise<void> {
    const work = this.infoQueue[0];
    if (work === undefined) return;
    if (this.traceInfoUnsupported) {
      this.infoQueue.length = 0;
      return;
    }
    try {
      await completeTrace(this.client, work.info);
      this.infoQueue.shift();
      this.counters.exportedTraces++;
    } catch (error) {
      this.counters.failedRequests++;
      const mlflowError = isMlflowError(error) ? error : undefined;
      if (mlflowError?.kind === "unsupported") {
        this.traceInfoUnsupported = true;
        this.infoQueue.length = 0;
        this.limited.log(
          "warn",
          "info-unsupported",
          "mlflow exporter: the server has no StartTraceV3; traces keep their span data only",
        );
        return;
      }
      const retryable =
        mlflowError === undefined ||
        mlflowError.kind === "network" ||
        (mlflowError.kind === "http" &&
          mlflowError.status !== undefined &&
          (mlflowError.status === 408 || mlflowError.status === 429 || mlflowError.status >= 500));
      work.failures++;
      if (!retryable || work.failures >= this.retry.maxAttempts) {
        this.infoQueue.shift();
        this.limited.log(
          "error",
          `info-drop:${mlflowError?.status}`,
          "mlflow exporter could not write a trace info",
          {
            error: describe(error),
          },
        );
        return;
      }
      await this.sleep(backoffDelay(this.retry, work.failures));
    }
  }

  private async sendOtlp(prepared: ReadableSpan[], experimentId: string): Promise<OtlpOutcome> {
    const batch = prepared;
    let body: Uint8Array;
    try {
      body = encodeSpans(prepared);
    } catch (error) {
      this.limited.log("error", "encode", "mlflow exporter could not encode spans", {
        error: describe(error),
      });
      return "drop";
    }
    let status: number;
    try {
      const result = await this.client.send("POST", OTLP_TRACES_PATH, {
        body,
        contentType: OTLP_CONTENT_TYPE,
        headers: { [EXPERIMENT_ID_HEADER]: experimentId },
      });
      status = result.status;
    } catch (error) {
      this.counters.failedRequests++;
      this.limited.log(
        "warn",
        "otlp-network",
        "mlflow exporter cannot reach the tracking server; will retry",
        {
          error: describe(error),
        },
      );
      return "retry";
    }
    if (status >= 200 && status < 300) return "ok";
    this.counters.failedRequests++;
    const sagemakerProbe = status === 403 && this.client.target.sagemaker !== undefined;
    if (
      NO_OTLP_STATUSES.has(status) ||
      (sagemakerProbe && this.configuredMode === "auto" && !this.otlpSucceeded)
    ) {
      return "no-endpoint";
    }
    if (status === 413 && batch.length > 1) return "split";
    if (status === 408 || status === 429 || status >= 500) {
      this.limited.log(
        "warn",
        `otlp-${status}`,
        "mlflow exporter: the tracking server refused a batch; will retry",
        {
          status,
        },
      );
      return "retry";
    }
    this.limited.log("error", `otlp-${status}`, "mlflow exporter: the tracking server rejected spans", {
      status,
      dropped: batch.length,
    });
    return "drop";
  }

  private enqueueGroup(group: TraceGroup): void {
    const relevant = group.spans.some((span) =>
      Object.keys(span.attributes).some((key) => key.startsWith("mlflow.") || key.startsWith("gen_ai.")),
    );
    if (!relevant) {
      this.counters.skippedSpans += group.spans.length;
      return;
    }
    this.restQueue.push({ group, failures: 0 });
    this.restQueuedSpans += group.spans.length;
    this.kick();
  }

  private takeRestWork(work: RestWork): void {
    const index = this.restQueue.indexOf(work);
    if (index !== -1) this.restQueue.splice(index, 1);
    this.restQueuedSpans -= work.group.spans.length;
  }

  private async restStep(experimentId: string): Promise<void> {
    if (this.buffer.length > 0) {
      const spans = this.buffer;
      this.buffer = [];
      for (const span of spans) {
        try {
          this.assembler.add(span);
        } catch (error) {
          this.counters.droppedSpans++;
          this.limited.log("error", "assemble", "mlflow exporter could not read a span", {
            error: describe(error),
          });
        }
      }
      if (this.closing) this.assembler.releaseAll();
    }
    const work = this.restQueue[0];
    if (work === undefined) return;
    if (this.restUnsupported) {
      this.takeRestWork(work);
      this.counters.droppedSpans += work.group.spans.length;
      return;
    }
    try {
      if (work.artifactLocation === undefined) {
        work.info ??= buildTraceInfo(work.group, experimentId, callSpanOf(work.group.spans));
        work.artifactLocation = await startTrace(this.client, work.info);
      }
      work.data ??= buildTraceData(work.group);
      await uploadTraceData(this.client, work.artifactLocation, work.data);
      this.takeRestWork(work);
      this.counters.exportedSpans += work.group.spans.length;
      this.exportHealth.succeeded(work.group.spans.length);
      this.counters.exportedTraces++;
    } catch (error) {
      this.counters.failedRequests++;
      await this.handleRestFailure(work, error);
    }
  }

  private async handleRestFailure(work: RestWork, error: unknown): Promise<void> {
    const mlflowError: MlflowError | undefined = isMlflowError(error) ? error : undefined;
    const drop = (reason: string) => {
      this.takeRestWork(work);
      this.counters.droppedSpans += work.group.spans.length;
      this.exportHealth.failed(work.group.spans.length, error);
      this.limited.log(
        "error",
        `rest-drop:${mlflowError?.kind}:${mlflowError?.status}`,
        "mlflow exporter dropped a trace",
        {
          reason,
          error: describe(error),
        },
      );
    };
    if (mlflowError?.kind === "unsupported") {
      if (mlflowError.status === 404) this.restUnsupported = true;
      drop("unsupported by the tracking server");
      return;
    }
    const retryable =
      mlflowError === undefined ||
      mlflowError.kind === "network" ||
      mlflowError.kind === "config" ||
      (mlflowError.kind === "http" &&
        mlflowError.status !== undefined &&
        (mlflowError.status === 408 || mlflowError.status === 429 || mlflowError.status >= 500));
    if (!retryable) {
      drop("rejected by the tracking server");
      return;
    }
    work.failures++;
    if (work.failures >= this.retry.maxAttempts) {
      drop(`gave up after ${work.failures} attempts`);
      return;
    }
    this.limited.log(
      "warn",
      `rest-retry:${mlflowError?.kind}`,
      "mlflow exporter could not write a trace; will retry",
      {
        error: describe(error),
      },
    );
    await this.sleep(backoffDelay(this.retry, work.failures));
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopped) return;
    const sleep = interruptibleSleep(ms);
    this.sleeper = sleep;
    await sleep.promise;
    if (this.sleeper === sleep) this.sleeper = undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
