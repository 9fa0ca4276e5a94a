import type { Usage } from "@llmux/pricing";
import { LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { ActiveAttempt, RouteResult } from "../router/router";
import type { CallRun, CallSuccess } from "./call-run";

/** The cost header; a stream sends it as an HTTP trailer (declared in its `Trailer` header). */
export const RESPONSE_COST_HEADER = "x-llmux-response-cost";

/** What a streaming attempt returns to the router once its first item arrived. */
export interface FirstItem<T> {
  iterator: AsyncIterator<T>;
  first: T;
  firstTokenTime: number;
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
  let first: IteratorResult<T>;
  try {
    first = await iterator.next();
  } catch (error) {
    await iterator.return?.(undefined)?.catch(() => undefined);
    throw error;
  }
  if (first.done) {
    throw new LlmuxError({
      kind: "connection",
      message: `${attempt.deployment.provider} stream ended before its first chunk`,
      provider: attempt.deployment.provider,
    });
  }
  attempt.markFirstToken();
  attempt.armIdle(idleMs);
  return { iterator, first: first.value, firstTokenTime: Date.now() };
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
 * Drives one routed stream to the client: every item as it arrives, the idle timer touched per item,
 * the cost priced once, one final event, and the upstream released on every way out.
 */
export function driveStream<T>(options: StreamDriverOptions<T>): DrivenStream<T> {
  const { run, routed, signal } = options;
  const { attempt } = routed;
  const deployment = attempt.deployment;
  let priced: { usage: Usage; cost: ReturnType<CallRun["price"]> } | undefined;
  const price = (usage: Usage) => {
    if (priced?.usage !== usage) priced = { usage, cost: run.price(deployment, usage) };
    return priced.cost;
  };
  let started = false;
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
    const aborted = new LlmuxError({ kind: "aborted", message: "The client closed the connection" });
    attempt.abort(aborted);
    await routed.value.iterator.return?.(undefined)?.catch(() => undefined);
    attempt.finish("aborted", aborted);
    options.failure(run, aborted);
  };

  async function* items(): AsyncGenerator<T> {
    started = true;
    let item = routed.value.first;
    let usage: Usage | null = null;
    try {
      while (true) {
        options.observe(item);
        const itemUsage = options.usageOf(item);
        if (itemUsage) usage = itemUsage;
        const shown = options.present(item, (value) => price(value).cost?.total ?? null);
        if (shown !== undefined) yield shown;
        const next = await routed.value.iterator.next();
        if (next.done) break;
        item = next.value;
        attempt.touch();
      }
      settled = true;
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
    } catch (raw) {
      settled = true;
      const error = signal.aborted
        ? new LlmuxError({ kind: "aborted", message: "The client closed the connection" })
        : (ended ?? toLlmuxError(raw));
      // ended by the gateway: not the deployment's failure (no cooldown counted)
      attempt.finish(error.kind === "aborted" || ended ? "aborted" : "failure", error);
      throw options.failure(run, error);
    } finally {
      untrack?.();
      // The consumer stopped early (client gone): release the upstream and record the abort.
      if (!settled) await abandon();
    }
  }

  const generator = items();
  return {
    items: generator,
    trailers: (): Record<string, string> =>
      finalCost === undefined ? {} : { [RESPONSE_COST_HEADER]: String(finalCost) },
    cancel: async () => {
      untrack?.();
      if (started) await generator.return(undefined);
      else if (!settled) {
        await generator.return(undefined);
        await abandon();
      }
    },
  };
}
