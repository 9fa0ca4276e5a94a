/**
 * Base class for sinks that ship events in batches (HTTP collectors, databases, …).
 *
 * A subclass names itself, turns events into items with `this.add(item)` from its handlers,
 * and implements `send(batch)`. The base:
 * - holds at most `maxBufferSize` items (more are dropped and counted);
 * - sends a batch as soon as `maxBatchSize` items are buffered, and everything buffered every
 *   `flushIntervalMs` (an unref'd timer: it never keeps the process alive);
 * - sends one batch at a time, in order; a failed send is retried up to `maxRetries` times after
 *   an exponential backoff with jitter (delay n is random in [b/2, b] with
 *   b = min(maxRetryBackoffMs, retryBackoffMs × 2ⁿ)), unless `isRetryable(error)` says no; a batch
 *   that still fails is dropped and counted as `failed`, and logged (rate-limited);
 * - `flush()` resolves when every item added before the call is sent or failed; `shutdown()`
 *   stops the timer, refuses new items and flushes. Neither rejects.
 */
import type { BatchingSinkOptions, BatchingSinkStats } from "./api-types";
import { createDefaultLogger, safeLog } from "./default-logger";
import { describeError } from "./describe-error";
import type { ExportHealth } from "./export-health";
import { RateLimitedLog } from "./rate-limited-log";
import { createSecretScrubber } from "./redaction";
import type { CallbackSink, Logger, ShutdownOptions } from "./types";
import { untilDeadline } from "./until-deadline";

const scrubCredentials = createSecretScrubber([]);

interface Waiter {
  target: number;
  resolve: () => void;
}

function positiveInteger(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

function nonNegative(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fallback;
}

export abstract class BatchingSink<T> implements CallbackSink {
  abstract readonly name: string;

  protected readonly maxBatchSize: number;
  protected readonly flushIntervalMs: number;
  protected readonly maxBufferSize: number;
  protected readonly maxRetries: number;
  protected readonly retryBackoffMs: number;
  protected readonly maxRetryBackoffMs: number;
  protected readonly logger: Logger;
  /**
   * Set by a subclass that exports telemetry (MLflow runs): delivered, failed and dropped items are
   * reported there too (process-wide counters for metrics; outage and recovery logged once each).
   */
  protected health: ExportHealth | undefined;

  /** Buffered items from `head` on (compacted when the consumed prefix grows). */
  private buffer: T[] = [];
  private head = 0;
  private added = 0;
  private taken = 0;
  private settledItems = 0;
  /** Items up to this sequence number are sent even as a partial batch (flush / interval). */
  private drainUntil = 0;
  private running = false;
  private inFlightCount = 0;
  private stopped = false;
  private shutdownPromise: Promise<void> | undefined;
  /** Set when shutdown gave up at its deadline: what settles later is no longer counted. */
  private abandoned = false;
  private waiters: Waiter[] = [];
  private counters = { sent: 0, dropped: 0, failed: 0, retries: 0 };
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly failureLog: RateLimitedLog;
  private readonly dropLog: RateLimitedLog;

  constructor(options: BatchingSinkOptions = {}) {
    this.maxBatchSize = positiveInteger(options.maxBatchSize, 100);
    this.flushIntervalMs = nonNegative(options.flushIntervalMs, 5_000);
    this.maxBufferSize = positiveInteger(options.maxBufferSize, 10_000);
    this.maxRetries = Math.floor(nonNegative(options.maxRetries, 3));
    this.retryBackoffMs = nonNegative(options.retryBackoffMs, 500);
    this.maxRetryBackoffMs = Math.max(this.retryBackoffMs, nonNegative(options.maxRetryBackoffMs, 30_000));
    this.logger = options.logger ?? createDefaultLogger();
    const logInterval = nonNegative(options.errorLogIntervalMs, 10_000);
    this.failureLog = new RateLimitedLog(logInterval);
    this.dropLog = new RateLimitedLog(logInterval);
    if (this.flushIntervalMs > 0) {
      this.timer = setInterval(() => this.flushBuffered(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Delivers one batch; throw or reject to have it retried. Called one batch at a time. */
  protected abstract send(batch: T[]): Promise<void>;

  /** Whether a failed send is retried (default: always). Override to give up on, e.g., HTTP 4xx. */
  protected isRetryable(_error: unknown): boolean {
    return true;
  }

  /** Buffers an item; returns false (and counts a drop) when the buffer is full or the sink is shut down. */
  add(item: T): boolean {
    const buffered = this.buffer.length - this.head;
    if (this.stopped || buffered >= this.maxBufferSize) {
      this.counters.dropped++;
      if (this.stopped) this.health?.droppedAtShutdown(1, "the sink was already shut down");
      else this.health?.droppedQueueFull(1);
      const suppressed = this.dropLog.next();
      if (suppressed >= 0) {
        safeLog(this.logger, "warn", `batching sink "${this.name}" dropped items`, {
          sink: this.name,
          reason: this.stopped ? "shut down" : "buffer full",
          maxBufferSize: this.maxBufferSize,
          dropped: this.counters.dropped,
          suppressed,
        });
      }
      return false;
    }
    this.buffer.push(item);
    this.added++;
    if (buffered + 1 >= this.maxBatchSize && !this.running) {
      // Start on a microtask: a subclass's send() never runs on the stack of whoever called add().
      this.running = true;
      queueMicrotask(() => void this.run());
    }
    return true;
  }

  /** Sends everything added before the call; resolves when it is sent or failed. Never rejects. */
  flush(): Promise<void> {
    const target = this.added;
    if (this.settledItems >= target) return Promise.resolve();
    const settled = new Promise<void>((resolve) => this.waiters.push({ target, resolve }));
    if (target > this.drainUntil) this.drainUntil = target;
    this.kick();
    return settled;
  }

  /**
   * Stops the interval timer, refuses new items and sends what is buffered. Idempotent, never
   * rejects. With `options.deadline` it resolves by then: items not sent are counted as dropped and
   * logged with the reason.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.shutdownPromise === undefined) {
      this.stopped = true;
      if (this.timer !== undefined) clearInterval(this.timer);
      const target = this.added;
      this.shutdownPromise = untilDeadline(this.flush(), options.deadline).then((delivered) => {
        if (delivered) return;
        this.abandoned = true;
        const lost = target - this.settledItems;
        this.counters.dropped += lost;
        const reason = `not delivered by the shutdown deadline (${this.inFlightCount > 0 ? "a send was still waiting for an answer" : "still buffered"})`;
        if (this.health) this.health.droppedAtShutdown(lost, reason);
        else
          safeLog(
            this.logger,
            "error",
            `batching sink "${this.name}": ${lost} item(s) dropped at shutdown: ${reason}`,
            {
              sink: this.name,
              dropped: lost,
            },
          );
      });
    }
    return this.shutdownPromise;
  }

  stats(): BatchingSinkStats {
    return {
      buffered: this.buffer.length - this.head,
      inFlight: this.inFlightCount,
      ...this.counters,
    };
  }

  private flushBuffered(): void {
    if (this.added > this.taken) {
      if (this.added > this.drainUntil) this.drainUntil = this.added;
      this.kick();
    }
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        if (this.abandoned) break;
        const buffered = this.buffer.length - this.head;
        if (buffered === 0 || (buffered < this.maxBatchSize && this.taken >= this.drainUntil)) break;
        const batch = this.take(Math.min(this.maxBatchSize, buffered));
        this.inFlightCount = batch.length;
        await this.sendWithRetry(batch);
        this.inFlightCount = 0;
        this.settledItems += batch.length;
        while (this.waiters.length > 0 && (this.waiters[0] as Waiter).target <= this.settledItems) {
          (this.waiters.shift() as Waiter).resolve();
        }
      }
    } finally {
      this.running = false;
    }
  }

  private take(count: number): T[] {
    const batch = this.buffer.slice(this.head, this.head + count);
    this.head += count;
    this.taken += count;
    if (this.head === this.buffer.length) {
      this.buffer = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private async sendWithRetry(batch: T[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.send(batch);
        if (this.abandoned) return;
        this.counters.sent += batch.length;
        this.health?.succeeded(batch.length);
        return;
      } catch (error) {
        let retryable = false;
        try {
          retryable = attempt < this.maxRetries && this.isRetryable(error);
        } catch {
          retryable = false;
        }
        if (this.abandoned) return;
        if (!retryable) {
          this.counters.failed += batch.length;
          // a sink with a health record logs the outage there (once, and its recovery)
          if (this.health) {
            this.health.failed(batch.length, error);
            return;
          }
          const suppressed = this.failureLog.next();
          if (suppressed >= 0) {
            safeLog(
              this.logger,
              "error",
              `batching sink "${this.name}" dropped a batch after ${attempt + 1} attempt(s)`,
              {
                sink: this.name,
                items: batch.length,
                error: describeError(error, scrubCredentials),
                failed: this.counters.failed,
                suppressed,
              },
            );
          }
          return;
        }
        this.counters.retries++;
        await sleep(this.backoffDelay(attempt));
      }
    }
  }

  /** Delay before retry number `attempt` (0-based): random in [b/2, b], b = min(cap, floor * 2^attempt). */
  protected backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.maxRetryBackoffMs, this.retryBackoffMs * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
}

/** A ref'd timer: a pending retry keeps the process alive so shutdown() can finish delivering. */
function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
