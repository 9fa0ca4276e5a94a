/** The value a label takes once its guard has seen `limit` distinct values. */
export const OTHER_LABEL_VALUE = "__other__";

/**
 * Cardinality guard for one label: the first `limit` distinct values pass through, every later
 * new value becomes `__other__`. Empty and missing values are "" and do not count.
 */
export class LabelGuard {
  readonly #limit: number;
  readonly #seen = new Set<string>();
  #overflowed = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  value(raw: string | undefined | null): string {
    if (raw === undefined || raw === null || raw === "") return "";
    if (this.#seen.has(raw)) return raw;
    if (this.#seen.size < this.#limit) {
      this.#seen.add(raw);
      return raw;
    }
    this.#overflowed += 1;
    return OTHER_LABEL_VALUE;
  }

  /** Distinct values admitted so far. */
  get size(): number {
    return this.#seen.size;
  }

  /** How many times a new value was folded into `__other__`. */
  get overflowed(): number {
    return this.#overflowed;
  }
}
