/**
 * Calls in flight, tracked by call id so that `llmux_in_flight_requests` cannot drift when the
 * bounded callback queue drops an event:
 * - a start that was dropped is never counted, and its end (unknown call id) subtracts nothing;
 * - an end that was dropped leaves an entry that is no longer counted once it is older than the
 *   stale age, and is removed then;
 * - the map is capped, the oldest entries go first.
 * The gauge is computed from this map at scrape time.
 */
const MAX_TRACKED_CALLS = 100_000;

interface Entry {
  modelGroup: string;
  startedAt: number;
}

export class InFlightCalls {
  readonly #calls = new Map<string, Entry>();
  /** Groups seen so far, reported as 0 when idle rather than disappearing. */
  readonly #groups = new Set<string>();
  readonly #staleAfterMs: number;
  #expired = 0;

  constructor(staleAfterMs: number) {
    this.#staleAfterMs = staleAfterMs;
  }

  start(callId: string, modelGroup: string, startedAt: number): void {
    if (this.#calls.has(callId)) return;
    this.#groups.add(modelGroup);
    this.#calls.set(callId, { modelGroup, startedAt });
    if (this.#calls.size > MAX_TRACKED_CALLS) {
      const oldest = this.#calls.keys().next().value;
      if (oldest !== undefined) this.#calls.delete(oldest);
      this.#expired += 1;
    }
  }

  /** Ends a call; false when its start was never seen (dropped), which then changes nothing. */
  end(callId: string): boolean {
    return this.#calls.delete(callId);
  }

  countByGroup(now: number = Date.now()): Map<string, number> {
    const counts = new Map<string, number>();
    for (const group of this.#groups) counts.set(group, 0);
    for (const [callId, entry] of this.#calls) {
      if (now - entry.startedAt > this.#staleAfterMs) {
        this.#calls.delete(callId);
        this.#expired += 1;
        continue;
      }
      counts.set(entry.modelGroup, (counts.get(entry.modelGroup) ?? 0) + 1);
    }
    return counts;
  }

  /** Entries removed without an end event (stale or over the cap). */
  get expired(): number {
    return this.#expired;
  }

  get size(): number {
    return this.#calls.size;
  }
}
