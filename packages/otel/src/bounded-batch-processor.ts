/**
 * A batching span processor with a hard bound and counted losses. Unlike the SDK's
 * BatchSpanProcessor it reports what it dropped: spans refused because the queue was full, and
 * spans lost in exports that failed (after the exporter's own retries) or never answered.
 * Exports run one at a time, with tracing suppressed (so an instrumented http module does not
 * trace the exporter's own requests), and never reject into the host.
 */
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

  constructor(
    readonly exporter: SpanExporter,
    readonly name: string,
    options: BatchOptions = {},
  ) {
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
    };
  }

  dropped(): number {
    return this.droppedQueueFull + this.droppedExportFailed;
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

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    await this.forceFlush();
    this.stopped = true;
    this.clearTimer();
    try {
      await this.exporter.shutdown();
    } catch {
      // Shutting down must not throw into the host's shutdown sequence.
    }
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
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        if (ok) this.exported += batch.length;
        else this.droppedExportFailed += batch.length;
        resolve();
      };
      const timeout = setTimeout(() => finish(false), this.options.exportTimeoutMillis);
      timeout.unref();
      try {
        context.with(suppressTracing(context.active()), () => {
          this.exporter.export(batch, (result: ExportResult) =>
            finish(result.code === ExportResultCode.SUCCESS),
          );
        });
      } catch {
        finish(false);
      }
    });
  }
}
