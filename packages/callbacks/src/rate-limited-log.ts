/**
 * Decides whether a repeated log line may be written now: at most one per interval, with the
 * number of occurrences suppressed since the previous one.
 */
export class RateLimitedLog {
  private lastLoggedAt = Number.NEGATIVE_INFINITY;
  private suppressedSinceLast = 0;

  constructor(private readonly intervalMs: number) {}

  /** Returns the number suppressed since the last log when this one may be logged, or -1 when it is suppressed. */
  next(now: number = Date.now()): number {
    if (now - this.lastLoggedAt >= this.intervalMs) {
      const suppressed = this.suppressedSinceLast;
      this.lastLoggedAt = now;
      this.suppressedSinceLast = 0;
      return suppressed;
    }
    this.suppressedSinceLast++;
    return -1;
  }
}
