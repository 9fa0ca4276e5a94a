/**
 * Export health: what each telemetry exporter (an OTLP span exporter, Langfuse scores, MLflow runs)
 * delivered, failed and dropped, kept process-wide so @llmux/prometheus can report it
 * (`llmux_telemetry_export_errors_total`, `llmux_telemetry_dropped_spans_total`,
 * `llmux_telemetry_dropped_records_total`) whichever package did the exporting.
 *
 * Logging follows the outage, not the failures: the first failed export after a success (or at
 * start) logs an error line naming the exporter and the error; further failures of the same outage
 * are counted and logged at most once per `reminderIntervalMs` (with the count since); the first
 * success after an outage logs that the exporter recovered, with what the outage cost. Losses at
 * shutdown are always logged (once per shutdown), with the reason.
 *
 * Each exporter instance has its own record (its logger and outage state); the counters also add up
 * into process-wide totals per (exporter name, signal), which the metrics read. The totals live on
 * globalThis (Symbol.for), so two copies of this package in one process (ESM and CJS) share them.
 */
import { createDefaultLogger, safeLog } from "./default-logger";
import { describeError } from "./describe-error";
import { RateLimitedLog } from "./rate-limited-log";
import { createSecretScrubber } from "./redaction";
import type { Logger } from "./types";

/** What an exporter sends: spans (OTLP), scores (Langfuse) or runs (MLflow). */
export type ExportSignal = "spans" | "scores" | "runs";

/**
 * Why items were lost: the exporter's queue was full, an export failed (after the exporter's own
 * retries) or never answered, or the shutdown deadline came before they were delivered.
 */
export type ExportDropReason = "queue_full" | "export_failed" | "shutdown";

export interface ExportHealthStats {
  exporter: string;
  signal: ExportSignal;
  /** Items delivered. */
  exported: number;
  /** Export requests (batches, scores, runs) that failed for good. */
  exportErrors: number;
  /** Items lost, by reason. */
  dropped: Record<ExportDropReason, number>;
  /** Exporters of this name and signal failing now (from a failed export until the next success). */
  failing: number;
}

export interface ExportHealthOptions {
  /** Where outage, recovery and shutdown lines go (the first one given for an exporter is kept). */
  logger?: Logger;
  /** While an outage lasts, at most one reminder line per interval. Default 60 000 ms. */
  reminderIntervalMs?: number;
}

const scrub = createSecretScrubber([]);
const REGISTRY_KEY = Symbol.for("llmux.callbacks.export-health");
const DEFAULT_REMINDER_INTERVAL_MS = 60_000;

/** One exporter's counters and outage state. Every method is O(1), synchronous and never throws. */
export class ExportHealth {
  private readonly totals: ExportHealthStats;
  private failing = false;
  private outage = { errors: 0, dropped: 0, startedAt: 0 };
  private lastError: string | undefined;
  private readonly reminder: RateLimitedLog;
  private readonly queueFullLog: RateLimitedLog;
  private queueFullCount = 0;
  logger: Logger | undefined;

  constructor(
    readonly exporter: string,
    readonly signal: ExportSignal,
    options: ExportHealthOptions = {},
  ) {
    this.logger = options.logger;
    this.totals = totalsFor(exporter, signal);
    const interval = options.reminderIntervalMs ?? DEFAULT_REMINDER_INTERVAL_MS;
    this.reminder = new RateLimitedLog(interval);
    this.queueFullLog = new RateLimitedLog(interval);
  }

  /** `items` were delivered; ends an outage (logged once). */
  succeeded(items: number): void {
    this.totals.exported += items;
    if (!this.failing) return;
    this.failing = false;
    this.totals.failing = Math.max(0, this.totals.failing - 1);
    this.log("info", `telemetry exporter "${this.exporter}" recovered: ${this.signal} are delivered again`, {
      exporter: this.exporter,
      failedExports: this.outage.errors,
      [`dropped_${this.signal}`]: this.outage.dropped,
      outageMs: Date.now() - this.outage.startedAt,
    });
  }

  /** An export of `items` failed for good: counted as an error and `items` dropped; logs the outage. */
  failed(items: number, error: unknown): void {
    this.totals.exportErrors++;
    this.totals.dropped.export_failed += items;
    this.lastError = describeExportError(error);
    if (!this.failing) {
      this.failing = true;
      this.totals.failing++;
      this.outage = { errors: 1, dropped: items, startedAt: Date.now() };
      this.reminder.next(); // the first line of an outage starts the reminder interval
      this.log(
        "error",
        `telemetry exporter "${this.exporter}" is failing: ${this.signal} are being dropped (counted in llmux_telemetry_* metrics; logged again when it recovers)`,
        { exporter: this.exporter, error: this.lastError, [`dropped_${this.signal}`]: items },
      );
      return;
    }
    this.outage.errors++;
    this.outage.dropped += items;
    const suppressed = this.reminder.next();
    if (suppressed >= 0) {
      this.log("warn", `telemetry exporter "${this.exporter}" is still failing`, {
        exporter: this.exporter,
        error: this.lastError,
        failedExports: this.outage.errors,
        [`dropped_${this.signal}`]: this.outage.dropped,
      });
    }
  }

  /** `items` refused because the exporter's queue was full (logged at most once per interval). */
  droppedQueueFull(items: number): void {
    this.queueFullCount += items;
    this.totals.dropped.queue_full += items;
    const suppressed = this.queueFullLog.next();
    if (suppressed >= 0) {
      this.log("warn", `telemetry exporter "${this.exporter}": queue full, ${this.signal} dropped`, {
        exporter: this.exporter,
        [`dropped_${this.signal}`]: this.queueFullCount,
        suppressed,
      });
    }
  }

  /** `items` not delivered when the shutdown deadline came; always logged with the reason. */
  droppedAtShutdown(items: number, reason: string): void {
    this.totals.dropped.shutdown += items;
    this.log(
      "error",
      `telemetry exporter "${this.exporter}": ${items} ${this.signal} dropped at shutdown: ${reason}`,
      {
        exporter: this.exporter,
        [`dropped_${this.signal}`]: items,
        ...(this.lastError ? { lastError: this.lastError } : {}),
      },
    );
  }

  /** true from a failed export until the next successful one. */
  get isFailing(): boolean {
    return this.failing;
  }

  private log(level: "info" | "warn" | "error", message: string, fields: Record<string, unknown>): void {
    this.logger ??= createDefaultLogger("llmux:telemetry");
    safeLog(this.logger, level, message, fields);
  }
}

/** The error's text, with the HTTP status in front when the error carries one (OTLPExporterError.code). */
function describeExportError(error: unknown): string {
  const text = describeError(error ?? "unknown error", scrub);
  const status =
    typeof error === "object" && error !== null
      ? ((error as { code?: unknown }).code ?? (error as { status?: unknown }).status)
      : undefined;
  return typeof status === "number" && status >= 100 && status <= 599 && !text.includes(String(status))
    ? `HTTP ${status}: ${text}`
    : text;
}

function registry(): Map<string, ExportHealthStats> {
  const holder = globalThis as unknown as Record<symbol, Map<string, ExportHealthStats> | undefined>;
  let map = holder[REGISTRY_KEY];
  if (!map) {
    map = new Map();
    holder[REGISTRY_KEY] = map;
  }
  return map;
}

function totalsFor(exporter: string, signal: ExportSignal): ExportHealthStats {
  const key = `${signal}:${exporter}`;
  const map = registry();
  let totals = map.get(key);
  if (!totals) {
    totals = {
      exporter,
      signal,
      exported: 0,
      exportErrors: 0,
      dropped: { queue_full: 0, export_failed: 0, shutdown: 0 },
      failing: 0,
    };
    map.set(key, totals);
  }
  return totals;
}

/**
 * A health record for one exporter instance (its own logger and outage state), counted into the
 * process-wide totals of its name and signal.
 */
export function exportHealth(
  exporter: string,
  signal: ExportSignal,
  options: ExportHealthOptions = {},
): ExportHealth {
  return new ExportHealth(exporter, signal, options);
}

/** The process-wide totals per exporter name and signal (for metrics). */
export function exportHealthStats(): ExportHealthStats[] {
  return [...registry().values()].map((totals) => ({ ...totals, dropped: { ...totals.dropped } }));
}

/** Test helper: sets every total back to zero (records in use keep counting into them). */
export function resetExportHealth(): void {
  for (const totals of registry().values()) {
    totals.exported = 0;
    totals.exportErrors = 0;
    totals.dropped = { queue_full: 0, export_failed: 0, shutdown: 0 };
    totals.failing = 0;
  }
}
