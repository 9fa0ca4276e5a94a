/**
 * The callback engine (SPEC §4): fans each lifecycle event out to the sinks that handle it,
 * through one bounded queue and one drain loop per sink. Emit methods are synchronous, O(1) per
 * interested sink, never throw and never await; everything a sink does happens later, off the
 * caller's stack. Events are handed to sinks as-is (nothing is copied or frozen, to keep the
 * request path cheap): sinks must treat them as read-only.
 */
import type { CallbackEngine, CallbackEngineOptions } from "./api-types";
import { createDefaultLogger, safeLog } from "./default-logger";
import { createSecretScrubber } from "./redaction";
import { type EventKind, SinkQueue, type SinkQueueSettings } from "./sink-queue";
import type {
  AttemptEvent,
  CallbackSink,
  CallEvent,
  CallStartEvent,
  CooldownEvent,
  FallbackEvent,
  ShutdownOptions,
  SinkStats,
  StreamChunkEvent,
} from "./types";
import { untilDeadline } from "./until-deadline";

export const DEFAULT_QUEUE_SIZE = 10_000;
export const DEFAULT_ERROR_LOG_INTERVAL_MS = 10_000;
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;

const HANDLERS: Record<EventKind, keyof CallbackSink> = {
  start: "onStart",
  success: "onSuccess",
  failure: "onFailure",
  streamChunk: "onStreamChunk",
  attempt: "onAttempt",
  fallback: "onFallback",
  cooldown: "onCooldown",
};
const KINDS = Object.keys(HANDLERS) as EventKind[];

/** Whether a sink gets events of a kind: it has the handler, its `only` allows it, chunks are opted into. */
function routes(sink: CallbackSink, kind: EventKind): boolean {
  if (typeof sink[HANDLERS[kind]] !== "function") return false;
  const only = sink.only ?? "all";
  if (only === "success") return kind === "success";
  if (only === "failure") return kind === "failure";
  if (kind === "streamChunk") return sink.wantsStreamChunks === true;
  return true;
}

function positiveInteger(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

function nonNegative(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fallback;
}

class Engine implements CallbackEngine {
  private readonly queues: SinkQueue[] = [];
  private readonly routed: Record<EventKind, SinkQueue[]> = {
    start: [],
    success: [],
    failure: [],
    streamChunk: [],
    attempt: [],
    fallback: [],
    cooldown: [],
  };
  private readonly settings: Omit<SinkQueueSettings, "capacity">;
  private closed = false;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: CallbackEngineOptions) {
    this.settings = {
      logger: options.logger ?? createDefaultLogger(),
      errorLogIntervalMs: nonNegative(options.errorLogIntervalMs, DEFAULT_ERROR_LOG_INTERVAL_MS),
      handlerTimeoutMs: nonNegative(options.handlerTimeoutMs, DEFAULT_HANDLER_TIMEOUT_MS),
      scrub: createSecretScrubber(options.secrets ?? []),
    };
    for (const sink of options.sinks ?? []) this.add(sink);
  }

  get wantsStreamChunks(): boolean {
    return this.routed.streamChunk.length > 0;
  }

  get wantsAttempts(): boolean {
    return this.routed.attempt.length > 0;
  }

  add(sink: CallbackSink): void {
    if (sink === null || typeof sink !== "object" || typeof sink.name !== "string" || sink.name === "") {
      throw new TypeError("callback sink must be an object with a non-empty string `name`");
    }
    if (this.closed) throw new Error(`cannot add callback sink "${sink.name}": the engine is shut down`);
    if (sink.queueSize !== undefined && positiveInteger(sink.queueSize, 0) === 0) {
      safeLog(
        this.settings.logger,
        "warn",
        `callback sink "${sink.name}": invalid queueSize, using the default`,
        {
          sink: sink.name,
          queueSize: sink.queueSize,
          default: DEFAULT_QUEUE_SIZE,
        },
      );
    }
    const queue = new SinkQueue(sink, {
      ...this.settings,
      capacity: positiveInteger(sink.queueSize, DEFAULT_QUEUE_SIZE),
    });
    this.queues.push(queue);
    for (const kind of KINDS) {
      if (routes(sink, kind)) this.routed[kind].push(queue);
    }
  }

  start(event: CallStartEvent): void {
    this.emit("start", event);
  }
  success(event: CallEvent): void {
    this.emit("success", event);
  }
  failure(event: CallEvent): void {
    this.emit("failure", event);
  }
  streamChunk(event: StreamChunkEvent): void {
    this.emit("streamChunk", event);
  }
  attempt(event: AttemptEvent): void {
    this.emit("attempt", event);
  }
  fallback(event: FallbackEvent): void {
    this.emit("fallback", event);
  }
  cooldown(event: CooldownEvent): void {
    this.emit("cooldown", event);
  }

  private emit(kind: EventKind, event: unknown): void {
    const queues = this.routed[kind];
    if (this.closed) {
      for (let index = 0; index < queues.length; index++) (queues[index] as SinkQueue).refuse();
      return;
    }
    for (let index = 0; index < queues.length; index++) {
      try {
        (queues[index] as SinkQueue).push(kind, event);
      } catch {
        // push does not throw; this guard keeps the promise "emit never throws" unconditional
      }
    }
  }

  async flush(): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.whenSettled()));
    await Promise.all(this.queues.map((queue) => this.callSink(queue, "flush")));
  }

  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.shutdownPromise === undefined) {
      this.closed = true;
      const deliver = Promise.all(
        this.queues.map(async (queue) => {
          await queue.whenSettled();
          await this.callSink(
            queue,
            typeof queue.sink.shutdown === "function" ? "shutdown" : "flush",
            options,
          );
        }),
      ).then(() => true);
      this.shutdownPromise = untilDeadline(deliver, options.deadline).then((delivered) => {
        if (delivered) return;
        // The deadline came first: say, per sink, what was not delivered (a hung sink keeps its events).
        for (const queue of this.queues) {
          const { queued } = queue.stats();
          if (queued > 0 || queue.busy) {
            safeLog(
              this.settings.logger,
              "error",
              `callback sink "${queue.sink.name}": ${queued} queued event(s) not delivered at shutdown: the shutdown deadline came first (the sink did not finish)`,
              { sink: queue.sink.name, queued },
            );
          }
        }
      });
    }
    return this.shutdownPromise;
  }

  stats(): SinkStats[] {
    return this.queues.map((queue) => queue.stats());
  }

  /** Calls a sink's flush()/shutdown(), counting and logging what it throws; never rejects. */
  private async callSink(
    queue: SinkQueue,
    method: "flush" | "shutdown",
    options?: ShutdownOptions,
  ): Promise<void> {
    const sink = queue.sink;
    if (typeof sink[method] !== "function") return;
    try {
      await (method === "shutdown" ? sink.shutdown?.(options) : sink.flush?.());
    } catch (error) {
      queue.recordError(`${method}()`, error);
    }
  }
}

/**
 * Creates the callback engine. Delivery guarantees:
 * - emit methods return before any sink runs; a sink never slows, fails or alters the caller;
 * - each sink has its own bounded queue (`sink.queueSize`, default 10 000): a full queue drops
 *   the event for that sink only and counts it (`stats()[i].dropped`);
 * - per sink, events are delivered in emit order, one at a time (a returned promise is awaited);
 * - a sink's throw, rejection or hang (handlerTimeoutMs) is counted and logged at most once per
 *   errorLogIntervalMs per sink, with the number suppressed since; never rethrown;
 * - `flush()` / `shutdown()` deliver everything queued before the call.
 */
export function createCallbackEngine(options: CallbackEngineOptions = {}): CallbackEngine {
  return new Engine(options);
}
