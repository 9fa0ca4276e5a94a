/**
 * A batching span processor with a hard bound and counted losses. Unlike the SDK's
 * BatchSpanProcessor it reports what it dropped: spans refused because the queue was full, and
 * spans lost in exports that failed (after the exporter's own retries) or never answered.
 * Exports run one at a time, with tracing suppressed (so an instrumented http module does not
 * trace the exporter's own requests), and never reject into the host. Deliveries, failures and
 * drops also go to the exporter's process-wide health record (`exportHealth(name, "spans")`), which
 * logs an outage once and its recovery once, and feeds the llmux_telemetry_* Prometheus counters.
 * `shutdown({ deadline })` stops waiting at the deadline: what is queued or still in flight is
 * counted as dropped at shutdown and logged with the reason.
 */
import { type ExportHealth, exportHealth, type Logger, untilDeadline } from "@llmux/callbacks";
import { context } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode, suppressTracing } from "@opentelemetry/core";
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { BatchOptions, ExporterStats } from "./types";

const DEFAULTS = {
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 1000,
  exportTimeoutMillis: 30_000,
} as const;

const SAMPLED = 1;

export class BoundedBatchSpanProcessor implements SpanProcessor {
  private readonly queue: ReadableSpan[] = [];
  private readonly options: Required<BatchOptions>;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private exported = 0;
  private droppedQueueFull = 0;
  private droppedExportFailed = 0;
  private droppedShutdown = 0;
  /** Gives up the export in flight (counted as dropped at shutdown); set while one runs. */
  private abandonInFlight: ((reason: string) => number) | undefined;
  readonly health: ExportHealth;
  private readonly exporterReportsDelivery: boolean;

  constructor(
    readonly exporter: SpanExporter,
    readonly name: string,
    options: BatchOptions = {},
    logger?: Logger,
  ) {
    // An exporter that buffers and reports delivery itself (the MLflow exporter) owns the record:
    // its export() result only says "buffered", so the processor reports only its own losses.
    const own = (exporter as { exportHealth?: ExportHealth }).exportHealth;
    // duck-typed: the exporter may hold a record from another copy of @llmux/callbacks
    const owned = typeof own?.succeeded === "function" && typeof own.droppedAtShutdown === "function";
    this.exporterReportsDelivery = owned;
    this.health = owned && own ? own : exportHealth(name, "spans", logger ? { logger } : {});
    const maxQueueSize = Math.max(1, options.maxQueueSize ?? DEFAULTS.maxQueueSize);
    this.options = {
      maxQueueSize,
      maxExportBatchSize: Math.min(
        maxQueueSize,
        Math.max(1, options.maxExportBatchSize ?? DEFAULTS.maxExportBatchSize),
      ),
      scheduledDelayMillis: Math.max(0, options.scheduledDelayMillis ?? DEFAULTS.scheduledDelayMillis),
      exportTimeoutMillis: Math.max(1, options.exportTimeoutMillis ?? DEFAULTS.exportTimeoutMillis),
    };
  }

  onStart(_span: Span, _parentContext: unknown): void {}

  onEnd(span: ReadableSpan): void {
    if (this.stopped || (span.spanContext().traceFlags & SAMPLED) === 0) return;
    if (this.queue.length >= this.options.maxQueueSize) {
      this.droppedQueueFull++;
      this.health.droppedQueueFull(1);
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.options.maxExportBatchSize) this.kick();
    else this.schedule();
  }

  stats(): ExporterStats {
    return {
      exporter: this.name,
      queued: this.queue.length,
      exported: this.exported,
      droppedQueueFull: this.droppedQueueFull,
      droppedExportFailed: this.droppedExportFailed,
      droppedShutdown: this.droppedShutdown,
    };
  }

  dropped(): number {
    return this.droppedQueueFull + this.droppedExportFailed + this.droppedShutdown;
  }

  async forceFlush(): Promise<void> {
    this.clearTimer();
    // Drain what is queued now; spans ended while draining wait for the next flush.
    let budget = Math.ceil(this.queue.length / this.options.maxExportBatchSize) + 1;
    while (budget-- > 0) {
      if (!this.inFlight) this.kick();
      const running = this.inFlight;
      if (!running) break;
      await running;
    }
    try {
      await this.exporter.forceFlush?.();
    } catch {
      // An exporter that cannot flush has already counted its failures.
    }
  }

  /**
   * Flushes what the queue holds by `deadline` (epoch ms) when one is given, else however long it
   * takes; resolves true when everything queued before the call was settled (sent or counted).
   */
  async flushUntil(deadline: number | undefined): Promise<boolean> {
    return untilDeadline(this.forceFlush(), deadline);
  }

  /**
   * Sends what is queued, then shuts the exporter down. With `options.deadline` it resolves by then:
   * spans still queued or in an unanswered export are counted as dropped at shutdown and logged.
   */
  async shutdown(options: { deadline?: number } = {}): Promise<void> {
    if (this.stopped) return;
    const { deadline } = options;
    const flushed = await this.flushUntil(deadline);
    this.stopped = true;
    this.clearTimer();
    if (!flushed) {
      const reason = `the exporter did not finish before the shutdown deadline${this.inFlight ? " (an export was still waiting for an answer)" : ""}`;
      const queued = this.queue.length;
      this.queue.length = 0;
      this.droppedShutdown += queued;
      const inFlight = this.abandonInFlight;
      this.abandonInFlight = undefined;
      const lost = queued + (inFlight ? inFlight(reason) : 0);
      this.health.droppedAtShutdown(lost, reason);
    }
    // an exporter that hangs in shutdown (pending requests) is not waited for past the deadline
    await untilDeadline(
      Promise.resolve()
        .then(() => this.exporter.shutdown())
        .catch(() => undefined),
      deadline,
    );
  }

  private schedule(): void {
    if (this.timer !== undefined || this.inFlight) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.options.scheduledDelayMillis);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Starts one export if none is running; when it finishes, goes on while spans are queued. */
  private kick(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.clearTimer();
    const batch = this.queue.splice(0, this.options.maxExportBatchSize);
    this.inFlight = this.exportBatch(batch).finally(() => {
      this.inFlight = undefined;
      if (this.queue.length >= this.options.maxExportBatchSize) this.kick();
      else if (this.queue.length > 0 && !this.stopped) this.schedule();
    });
  }

  private exportBatch(batch: ReadableSpan[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = (ok: boolean, error?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        this.abandonInFlight = undefined;
        if (ok) {
          this.exported += batch.length;
          if (!this.exporterReportsDelivery) this.health.succeeded(batch.length);
        } else {
          this.droppedExportFailed += batch.length;
          if (!this.exporterReportsDelivery) this.health.failed(batch.length, error);
        }
        resolve();
      };
      this.abandonInFlight = () => {
        if (settled) return 0;
        settled = true;
        clearTimeout(timeout);
        this.droppedShutdown += batch.length;
        resolve();
        return batch.length;
      };
      const timeoutMs = this.options.exportTimeoutMillis;
      const timeout = setTimeout(
        () => finish(false, new Error(`the export did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      timeout.unref();
      try {
        context.with(suppressTracing(context.active()), () => {
          this.exporter.export(batch, (result: ExportResult) =>
            finish(result.code === ExportResultCode.SUCCESS, result.error),
          );
        });
      } catch (error) {
        finish(false, error);
      }
    });
  }
}
