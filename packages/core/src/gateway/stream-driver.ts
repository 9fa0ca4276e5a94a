import type { Usage } from "@llmux/pricing";
import { LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { BatchedIterator } from "../providers/types";
import type { ActiveAttempt, RouteResult } from "../router/router";
import type { CallRun, CallSuccess } from "./call-run";
import { LazyItems } from "./lazy-members";

/** The cost header; a stream sends it as an HTTP trailer (declared in its `Trailer` header). */
export const RESPONSE_COST_HEADER = "x-llmux-response-cost";

/** What a streaming attempt returns to the router once its first items arrived. */
export interface FirstItem<T> {
  iterator: AsyncIterator<T>;
  /** The items of the first upstream read (never empty; one item when the stream is not batched). */
  first: T[];
  firstTokenTime: number;
}

/** The next items of a stream: a whole upstream read when it is batched, else one item. */
function batchReader<T>(iterator: AsyncIterator<T>): () => Promise<T[] | undefined> {
  const batched = iterator as Partial<BatchedIterator<T>>;
  if (typeof batched.nextBatch === "function") return () => batched.nextBatch!();
  return async () => {
    const next = await iterator.next();
    return next.done ? undefined : [next.value];
  };
}

/**
 * Inside the attempt: waits for the first item (under stream_timeout), so that a failure before it can
 * still be retried or fall back without the client noticing; then bounds the silence between items.
 */
export async function readFirstItem<T>(
  iterator: AsyncIterator<T>,
  attempt: ActiveAttempt,
  idleMs: number,
): Promise<FirstItem<T>> {
  let first: T[] | undefined;
  try {
    first = await batchReader(iterator)();
  } catch (error) {
    await iterator.return?.(undefined)?.catch(() => undefined);
    throw error;
  }
  if (first === undefined) {
    throw new LlmuxError({
      kind: "connection",
      message: `${attempt.deployment.provider} stream ended before its first chunk`,
      provider: attempt.deployment.provider,
    });
  }
  attempt.markFirstToken();
  attempt.armIdle(idleMs);
  return { iterator, first, firstTokenTime: Date.now() };
}

export interface StreamDriverOptions<T> {
  run: CallRun;
  routed: RouteResult<FirstItem<T>>;
  /** The client's disconnect (only `aborted` is read: an AbortSignal or the call's ClientAbort). */
  signal: { readonly aborted: boolean };
  failure: (run: CallRun, raw: unknown) => LlmuxError;
  /** Usage carried by an item, if any. */
  usageOf(item: T): Usage | undefined;
  /** What the client receives for an item (undefined: nothing). `price` prices a usage once. */
  present(item: T, price: (usage: Usage) => number | null): T | undefined;
  /** Sees every upstream item (content assembly for the event). */
  observe(item: T): void;
  /** Adds what the items told (id, model, finish reasons, content) to the call's result. */
  describe(result: CallSuccess): void;
  /** Usage counted by the gateway when the upstream reported none (the event says it is an estimate). */
  estimateUsage?(): Usage;
  /**
   * Registers the stream with its gateway while it runs: `end(error)` stops it with `error`, which
   * the client receives in-band (the shutdown grace period ran out). Returns the unregister function.
   */
  track?(end: (error: LlmuxError) => void): () => void;
}

export interface DrivenStream<T> {
  /**
   * What the client receives of the next upstream read (possibly nothing: a usage chunk it did not
   * ask for), or undefined once the stream ended and its call was recorded. Rejects with the call's
   * error (already recorded). One promise per upstream read, not per item.
   */
  nextBatch(): Promise<T[] | undefined>;
  /** The same items one at a time (stopping early abandons the stream, as `cancel` does). */
  items: AsyncGenerator<T>;
  /**
   * What a stream's response headers could not say: `x-llmux-response-cost` once the items are
   * exhausted and the call was priced (sent as an HTTP trailer); empty before that or when unpriced.
   */
  trailers(): Record<string, string>;
  /** Stops the stream, also before its first item was taken (releases the attempt and the upstream). */
  cancel(): Promise<void>;
}

/**
 * Drives one routed stream to the client: the items of each upstream read handed over together,
 * the idle timer touched per read, the cost priced once, one final event, and the upstream released
 * on every way out.
 */
export function driveStream<T>(options: StreamDriverOptions<T>): DrivenStream<T> {
  const { run, routed, signal } = options;
  const { attempt } = routed;
  const deployment = attempt.deployment;
  const iterator = routed.value.iterator;
  const readBatch = batchReader(iterator);
  let priced: { usage: Usage; cost: ReturnType<CallRun["price"]> } | undefined;
  const price = (usage: Usage) => {
    if (priced?.usage !== usage) priced = { usage, cost: run.price(deployment, usage) };
    return priced.cost;
  };
  const priceTotal = (usage: Usage) => price(usage).cost?.total ?? null;
  /** The first read's items, until they are handed over. */
  let firstBatch: T[] | undefined = routed.value.first;
  let usage: Usage | null = null;
  let settled = false;
  let finalCost: number | undefined;
  /** Set when the gateway ended the stream (shutdown): the client gets this error in-band. */
  let ended: LlmuxError | undefined;
  const untrack = options.track?.((error) => {
    if (settled || ended) return;
    ended = error;
    attempt.abort(error);
  });

  const abandon = async () => {
    settled = true;
    untrack?.();
    const aborted = new LlmuxError({ kind: "aborted", message: "The client closed the connection" });
    attempt.abort(aborted);
    await iterator.return?.(undefined)?.catch(() => undefined);
    attempt.finish("aborted", aborted);
    options.failure(run, aborted);
  };

  /** What the client receives of one read's items; every item is observed and its usage kept. */
  const take = (batch: T[]): T[] => {
    const shown: T[] = [];
    for (const item of batch) {
      options.observe(item);
      const itemUsage = options.usageOf(item);
      if (itemUsage) usage = itemUsage;
      const presented = options.present(item, priceTotal);
      if (presented !== undefined) shown.push(presented);
    }
    return shown;
  };

  /** The upstream is exhausted: the attempt succeeded, the call is priced once and recorded. */
  const complete = () => {
    settled = true;
    untrack?.();
    attempt.finish("success");
    let estimated = false;
    if (!usage && options.estimateUsage) {
      usage = options.estimateUsage();
      estimated = true;
    }
    const result: CallSuccess = { deployment, usage, firstTokenTime: routed.value.firstTokenTime };
    if (estimated) result.usageEstimated = true;
    options.describe(result);
    const cost = usage ? price(usage) : run.price(deployment, null);
    finalCost = cost.cost?.total;
    run.succeed(result, cost);
  };

  const nextBatch = async (): Promise<T[] | undefined> => {
    if (settled) return undefined;
    try {
      let batch = firstBatch;
      if (batch !== undefined) firstBatch = undefined;
      else {
        batch = await readBatch();
        // cancelled while the read was waiting: already recorded
        if (settled) return undefined;
        if (batch === undefined) {
          complete();
          return undefined;
        }
        attempt.touch();
      }
      return take(batch);
    } catch (raw) {
      if (settled) throw toLlmuxError(raw);
      settled = true;
      untrack?.();
      const error = signal.aborted
        ? new LlmuxError({ kind: "aborted", message: "The client closed the connection" })
        : (ended ?? toLlmuxError(raw));
      // ended by the gateway: not the deployment's failure (no cooldown counted)
      attempt.finish(error.kind === "aborted" || ended ? "aborted" : "failure", error);
      // a failing event of a read: the upstream is released (the decoder closed it; others on return)
      await iterator.return?.(undefined)?.catch(() => undefined);
      throw options.failure(run, error);
    }
  };

  async function* items(): AsyncGenerator<T> {
    try {
      while (true) {
        const batch = await nextBatch();
        if (batch === undefined) return;
        for (const item of batch) yield item;
      }
    } finally {
      // The consumer stopped early (client gone): release the upstream and record the abort.
      if (!settled) await abandon();
    }
  }

  return new Driven(
    nextBatch,
    items,
    async () => {
      if (!settled) await abandon();
      else untrack?.();
    },
    (): Record<string, string> =>
      finalCost === undefined ? {} : { [RESPONSE_COST_HEADER]: String(finalCost) },
  );
}

/** A driven stream (a class, not a literal with an `items` getter: see lazy-members.ts). */
class Driven<T> extends LazyItems<T> implements DrivenStream<T> {
  constructor(
    nextBatch: () => Promise<T[] | undefined>,
    makeItems: () => AsyncGenerator<T>,
    cancel: () => Promise<void>,
    readonly trailers: () => Record<string, string>,
  ) {
    super(nextBatch, makeItems, cancel);
  }
}
