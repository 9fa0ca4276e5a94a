/** Exponential backoff with full jitter, and an unref'd sleep that a stop signal can cut short. */
import type { RetryOptions } from "./types";

export interface ResolvedRetry {
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export function resolveRetry(retry: RetryOptions | undefined): ResolvedRetry {
  return {
    initialDelayMs: Math.max(1, retry?.initialDelayMs ?? 500),
    maxDelayMs: Math.max(1, retry?.maxDelayMs ?? 30_000),
    maxAttempts: Math.max(1, retry?.maxAttempts ?? 5),
  };
}

/** Delay before retry number `failures` (1 = first retry): between half and all of initial × 2^(failures−1), capped. */
export function backoffDelay(retry: ResolvedRetry, failures: number): number {
  const exponential = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
}

/** Resolves after `ms`, or as soon as `wake()` of the returned handle is called. Never keeps the process alive. */
export function interruptibleSleep(ms: number): { promise: Promise<void>; wake: () => void } {
  let wake: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { promise, wake };
}
