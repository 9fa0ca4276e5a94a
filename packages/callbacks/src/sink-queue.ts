/**
 * One sink's bounded queue and its single drain loop (internal to the engine).
 *
 * - `push` is O(1): a ring buffer that grows by doubling up to the sink's capacity, so an
 *   idle sink with a large capacity holds no memory; a full queue refuses the event and counts it.
 * - The drain loop starts on `setImmediate` (never on the emitter's stack), calls the handler,
 *   awaits a returned promise before the next event (one at a time, so a slow sink only slows
 *   itself), and yields to the event loop every DRAIN_SLICE events so a busy sink cannot starve I/O.
 * - Sequence numbers (accepted / settled) let `whenSettled()` wait for exactly the events
 *   accepted before the call, even while new events keep arriving.
 */
import type { SecretScrubber } from "./api-types";
import { safeLog } from "./default-logger";
import { describeError } from "./describe-error";
import { RateLimitedLog } from "./rate-limited-log";
import type { CallbackSink, Logger, SinkStats } from "./types";

export type EventKind = "start" | "success" | "failure" | "streamChunk" | "attempt" | "fallback" | "cooldown";

const INITIAL_RING_SIZE = 64;
/** Events handled before the drain loop yields to the event loop. */
const DRAIN_SLICE = 256;

export interface SinkQueueSettings {
  capacity: number;
  logger: Logger;
  errorLogIntervalMs: number;
  handlerTimeoutMs: number;
  scrub: SecretScrubber;
}

interface Waiter {
  target: number;
  resolve: () => void;
}

export class SinkQueue {
  readonly sink: CallbackSink;
  readonly capacity: number;
  delivered = 0;
  dropped = 0;
  errors = 0;

  private events: unknown[];
  private kinds: EventKind[];
  private head = 0;
  private size = 0;
  /** Events accepted into the queue so far. */
  private accepted = 0;
  /** Events handled (delivered or failed) so far. */
  private settled = 0;
  /** true from scheduling the drain loop until it finds the queue empty. */
  private active = false;
  private sinceYield = 0;
  private waiters: Waiter[] = [];
  private readonly errorLog: RateLimitedLog;
  private readonly dropLog: RateLimitedLog;
  private readonly settings: SinkQueueSettings;
  private readonly drainFromImmediate = (): void => {
    this.sinceYield = 0;
    this.drain();
  };

  constructor(sink: CallbackSink, settings: SinkQueueSettings) {
    this.sink = sink;
    this.capacity = settings.capacity;
    this.settings = settings;
    const initial = Math.min(this.capacity, INITIAL_RING_SIZE);
    this.events = new Array(initial);
    this.kinds = new Array(initial);
    this.errorLog = new RateLimitedLog(settings.errorLogIntervalMs);
    this.dropLog = new RateLimitedLog(settings.errorLogIntervalMs);
  }

  /** Queues an event; returns false (and counts a drop) when the queue is full. Never throws. */
  push(kind: EventKind, event: unknown): boolean {
    if (this.size >= this.capacity) {
      this.dropped++;
      const suppressed = this.dropLog.next();
      if (suppressed >= 0) {
        safeLog(
          this.settings.logger,
          "warn",
          `callback sink "${this.sink.name}" queue is full: events dropped`,
          {
            sink: this.sink.name,
            capacity: this.capacity,
            dropped: this.dropped,
            suppressed,
          },
        );
      }
      return false;
    }
    if (this.size === this.events.length) this.grow();
    const slot = (this.head + this.size) % this.events.length;
    this.events[slot] = event;
    this.kinds[slot] = kind;
    this.size++;
    this.accepted++;
    if (!this.active) {
      this.active = true;
      setImmediate(this.drainFromImmediate);
    }
    return true;
  }

  /** true while the drain loop runs (an event is being handled). */
  get busy(): boolean {
    return this.active;
  }

  /** Counts an event refused before queueing (engine shut down). */
  refuse(): void {
    this.dropped++;
  }

  /** Resolves when every event accepted before this call has been handled. */
  whenSettled(): Promise<void> {
    const target = this.accepted;
    if (this.settled >= target) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ target, resolve }));
  }

  stats(): SinkStats {
    return {
      sink: this.sink.name,
      delivered: this.delivered,
      dropped: this.dropped,
      errors: this.errors,
      queued: this.size,
    };
  }

  /** Counts and (rate-limited) logs a sink failure; used for handlers and flush/shutdown. */
  recordError(what: string, error: unknown): void {
    this.errors++;
    const suppressed = this.errorLog.next();
    if (suppressed >= 0) {
      safeLog(this.settings.logger, "error", `callback sink "${this.sink.name}" failed in ${what}`, {
        sink: this.sink.name,
        error: describeError(error, this.settings.scrub),
        errors: this.errors,
        suppressed,
      });
    }
  }

  private grow(): void {
    const length = this.events.length;
    const next = Math.min(this.capacity, Math.max(INITIAL_RING_SIZE, length * 2));
    const events = new Array(next);
    const kinds = new Array<EventKind>(next);
    for (let index = 0; index < this.size; index++) {
      const from = (this.head + index) % length;
      events[index] = this.events[from];
      kinds[index] = this.kinds[from] as EventKind;
    }
    this.events = events;
    this.kinds = kinds;
    this.head = 0;
  }

  private drain(): void {
    while (this.size > 0) {
      if (this.sinceYield >= DRAIN_SLICE) {
        setImmediate(this.drainFromImmediate);
        return;
      }
      this.sinceYield++;
      const slot = this.head;
      const event = this.events[slot];
      const kind = this.kinds[slot] as EventKind;
      this.events[slot] = undefined;
      this.head = (slot + 1) % this.events.length;
      this.size--;

      let result: unknown;
      try {
        result = invokeHandler(this.sink, kind, event);
      } catch (error) {
        this.recordError(handlerName(kind), error);
        this.settle();
        continue;
      }
      if (
        result !== null &&
        typeof result === "object" &&
        typeof (result as PromiseLike<unknown>).then === "function"
      ) {
        this.awaitHandler(kind, result as PromiseLike<unknown>);
        return;
      }
      this.delivered++;
      this.settle();
    }
    this.active = false;
  }

  private awaitHandler(kind: EventKind, pending: PromiseLike<unknown>): void {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: unknown, failed: boolean): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      if (failed) this.recordError(handlerName(kind), error);
      else this.delivered++;
      this.settle();
      this.drain();
    };
    const timeoutMs = this.settings.handlerTimeoutMs;
    if (timeoutMs > 0) {
      timer = setTimeout(
        () => finish(new Error(`${handlerName(kind)} did not settle within ${timeoutMs} ms`), true),
        timeoutMs,
      );
      timer.unref();
    }
    try {
      Promise.resolve(pending).then(
        () => finish(undefined, false),
        (error: unknown) => finish(error, true),
      );
    } catch (error) {
      finish(error, true);
    }
  }

  private settle(): void {
    this.settled++;
    while (this.waiters.length > 0 && (this.waiters[0] as Waiter).target <= this.settled) {
      (this.waiters.shift() as Waiter).resolve();
    }
  }
}

function handlerName(kind: EventKind): string {
  switch (kind) {
    case "start":
      return "onStart";
    case "success":
      return "onSuccess";
    case "failure":
      return "onFailure";
    case "streamChunk":
      return "onStreamChunk";
    case "attempt":
      return "onAttempt";
    case "fallback":
      return "onFallback";
    case "cooldown":
      return "onCooldown";
  }
}

// biome-ignore lint/suspicious/noExplicitAny: events are routed by kind, each handler gets its own type
type AnyEvent = any;

function invokeHandler(sink: CallbackSink, kind: EventKind, event: AnyEvent): unknown {
  switch (kind) {
    case "start":
      return sink.onStart?.(event);
    case "success":
      return sink.onSuccess?.(event);
    case "failure":
      return sink.onFailure?.(event);
    case "streamChunk":
      return sink.onStreamChunk?.(event);
    case "attempt":
      return sink.onAttempt?.(event);
    case "fallback":
      return sink.onFallback?.(event);
    case "cooldown":
      return sink.onCooldown?.(event);
  }
}
