import type { PricingLogger } from "./types.js";

/** Distinct model keys remembered; past this, new ones are counted under OVERFLOW_KEY. */
const MAX_KEYS = 1000;
const OVERFLOW_KEY = "(other)";

/**
 * Counts every unpriced call by "provider/model" and logs a warning the first time a model is seen,
 * then at most once per `intervalMs` for that model (with the count so far), so an unpriced model on
 * a busy deployment does not flood the host's log.
 */
export class UnknownModelWarnings {
  readonly #counts = new Map<string, number>();
  readonly #lastLogged = new Map<string, number>();
  readonly #logger: PricingLogger;
  readonly #intervalMs: number;
  readonly #now: () => number;

  constructor(logger: PricingLogger, intervalMs: number, now: () => number = Date.now) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  record(key: string, reason: string, fields: Record<string, unknown>): void {
    const counted = this.#counts.has(key) || this.#counts.size < MAX_KEYS ? key : OVERFLOW_KEY;
    const count = (this.#counts.get(counted) ?? 0) + 1;
    this.#counts.set(counted, count);
    const now = this.#now();
    const last = this.#lastLogged.get(counted);
    if (last !== undefined && now - last < this.#intervalMs) return;
    this.#lastLogged.set(counted, now);
    try {
      this.#logger.warn(`llmux pricing: ${reason}; cost is null (set a price override or a priceFile)`, {
        ...fields,
        count,
      });
    } catch {
      // A failing logger never breaks pricing.
    }
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
