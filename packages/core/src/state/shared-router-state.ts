import {
  type Clock,
  type LatencyKind,
  MemoryRouterState,
  type RouterState,
  systemClock,
} from "../router/router-state";
import {
  applyDeltas,
  type SharedDelta,
  type SharedState,
  type SharedStateHealth,
  takeWindow,
} from "./shared-state";

const MINUTE = 60_000;
/** A slot leaked by a crashed instance is forgotten after this long. */
const IN_FLIGHT_TTL_MS = 10 * MINUTE;
/** A lease is at most this share of the rpm limit (1 %): rpm below 200 leases one request at a time. */
const LEASE_SHARE = 100;
/** and at most this many requests, whatever the limit. */
const MAX_LEASE = 1_000;
const RESERVED = Promise.resolve(true);
const REFUSED = Promise.resolve(false);

/** The largest lease for a limit: k = min(1000, floor(rpm / 100)), at least 1. */
export function maxLease(rpm: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(rpm / LEASE_SHARE)));
}

export interface SharedRouterStateOptions {
  /** The deployments to synchronise (their ids). */
  deploymentIds: readonly string[];
  /** Failure policy applied atomically in the shared store (router_settings.allowed_fails / cooldown_time). */
  allowedFails: number;
  cooldownMs: number;
  clock?: Clock;
  /** How often the snapshot is refreshed from the shared store. Default 200 ms. */
  syncIntervalMs?: number;
  /** Called when the shared store reports a cooldown this instance did not know of. */
  onRemoteCooldown?: (deploymentId: string, until: number) => void;
}

interface Remote {
  /** Requests and tokens of the other instances in the current minute, and the minute they belong to. */
  minute: number;
  requests: number;
  tokens: number;
  inFlight: number;
  cooldownUntil: number;
}

/** Requests of a deployment's shared rpm window that this instance took and serves locally. */
interface Lease {
  minute: number;
  /** Taken from the shared window and not served yet. */
  remaining: number;
  /** The shared window refused: full for the rest of this minute (its count never goes down). */
  full: boolean;
  /** The next lease's size: doubles with each lease taken, halves when a minute ends with some left. */
  size: number;
  /** The lease being taken: concurrent reservations wait for it instead of each asking. */
  pending: Promise<void> | undefined;
}

/** Counts of one minute not written to the shared store yet. */
interface PendingWindow {
  minute: number;
  requests: number;
  tokens: number;
}

/** What this instance changed and has not written yet (sent by `flush`, once per sync interval). */
interface Pending {
  windows: PendingWindow[];
  /** Acquires minus releases. */
  inFlight: number;
  /** When the in-flight count's expiry was last refreshed. */
  refreshedAt: number;
}

/** What the delta flushes did. */
export interface DeltaStats {
  /** Flushes the shared store took, and those it did not (the deltas were kept for the next one). */
  flushes: number;
  failedFlushes: number;
  /** Not written yet. */
  pendingRequests: number;
  pendingTokens: number;
  pendingInFlight: number;
  /** Counts of a minute that ended more than a minute before they could be written: never written. */
  droppedRequests: number;
  droppedTokens: number;
}

interface Own {
  minute: number;
  /** What this instance added to the shared minute window (requests written or leased, tokens written). */
  requests: number;
  tokens: number;
  /** Reservations made by reserveRequest and not yet matched by recordRequest. */
  reserved: number;
  /** This instance's slots as the shared store counts them (written by the flushes). */
  inFlight: number;
}

/**
 * The router's state when several instances share a store: a local snapshot that every routing decision
 * reads synchronously (never waiting on the network), kept in step with the shared store.
 *
 * - Local first: acquire/release, request and token counts go to the local state at once and are summed
 *   into deltas that one flush per `syncIntervalMs` writes in one batch (one pipeline on Redis), so a call
 *   costs no write of its own. Failures and cooldowns are written when they happen (rare, and urgent).
 * - Every `syncIntervalMs`, after the flush, one pull refreshes what the other instances did: their
 *   cooldowns, requests and tokens of the current minute, their calls in flight.
 * - rpm limits by leases: `reserveRequest` serves a call from a lease this instance took atomically from
 *   the shared minute window (`takeWindow`: up to k requests, never more than fit within the limit), and
 *   asks the store only when the lease is used up. k = min(1000, floor(rpm / 100)), at least 1, and grows
 *   from 1 by doubling as leases run out: rpm below 200 is exact (one request per lease); above it, the
 *   instances together never pass the limit, and leases left at the end of a minute leave at most N × k
 *   (1 % of rpm per instance) unused.
 * - tpm, in-flight counts of the others and remote cooldowns lag by at most two sync intervals (the
 *   writer's flush, the reader's pull) plus a round trip. Latency samples stay per instance.
 * - While the store does not take a flush, the deltas are kept and sent with the next one; counts of a
 *   minute that ended more than a minute ago are dropped and counted (`deltaStats`). In-flight deltas are
 *   a net count (acquires minus releases), bounded by the calls in flight.
 * - While the shared store is failing, the snapshot forgets the others and routing runs on local state.
 */
export class SharedRouterState implements RouterState {
  readonly local = new MemoryRouterState();
  /** For what a call waits on (rpm reservations): the short deadline. */
  private shared: (SharedState & Partial<SharedStateHealth>) | undefined;
  /** For background writes and the sync, which no call waits on: may have a longer deadline. */
  private background: (SharedState & Partial<SharedStateHealth>) | undefined;
  private readonly clock: Clock;
  private readonly remote = new Map<string, Remote>();
  private readonly own = new Map<string, Own>();
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Pending>();
  private readonly stats = { flushes: 0, failedFlushes: 0, droppedRequests: 0, droppedTokens: 0 };
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;

  constructor(private readonly options: SharedRouterStateOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts sharing through `shared` (the gateway attaches it once the store is connected). */
  attach(
    shared: SharedState & Partial<SharedStateHealth>,
    background: SharedState & Partial<SharedStateHealth> = shared,
  ): void {
    this.shared = shared;
    this.background = background;
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.tick(), this.options.syncIntervalMs ?? 200);
    this.timer.unref?.();
    void this.sync(); // nothing to flush yet
  }

  /** Stops the timer (what is pending stays pending: `close` writes it). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the timer and writes what is pending (bounded by the background store's deadline). */
  async close(): Promise<void> {
    this.stop();
    if (this.flushing) await this.flushing;
    await this.flush();
  }

  private async tick(): Promise<void> {
    await this.flush();
    await this.sync();
  }

  get deltaStats(): DeltaStats {
    let pendingRequests = 0;
    let pendingTokens = 0;
    let pendingInFlight = 0;
    for (const pending of this.pending.values()) {
      for (const window of pending.windows) {
        pendingRequests += window.requests;
        pendingTokens += window.tokens;
      }
      pendingInFlight += pending.inFlight;
    }
    return { ...this.stats, pendingRequests, pendingTokens, pendingInFlight };
  }

  private pendingOf(id: string): Pending {
    let pending = this.pending.get(id);
    if (!pending) {
      pending = { windows: [], inFlight: 0, refreshedAt: 0 };
      this.pending.set(id, pending);
    }
    return pending;
  }

  private pendingWindow(id: string, now: number): PendingWindow {
    const minute = Math.floor(now / MINUTE);
    const windows = this.pendingOf(id).windows;
    const last = windows[windows.length - 1];
    if (last && last.minute === minute) return last;
    const window = { minute, requests: 0, tokens: 0 };
    windows.push(window);
    return window;
  }

  /**
   * Writes the pending deltas in one batch. Exposed for tests and shutdown; runs on the timer. One flush
   * at a time: a call during one returns it.
   */
  flush(): Promise<void> {
    if (!this.flushing)
      this.flushing = this.flushOnce().finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const store = this.background;
    if (!store || this.pending.size === 0) return;
    const now = this.clock.now();
    const minute = Math.floor(now / MINUTE);
    const deltas: SharedDelta[] = [];
    const sent: Array<{
      id: string;
      window?: PendingWindow;
      requests: number;
      tokens: number;
      inFlight: number;
    }> = [];
    for (const [id, pending] of this.pending) {
      // a minute that ended more than a minute ago: its window is gone from the store (bounded, counted)
      while (pending.windows.length > 0 && pending.windows[0]!.minute < minute - 1) {
        const old = pending.windows.shift()!;
        this.stats.droppedRequests += old.requests;
        this.stats.droppedTokens += old.tokens;
      }
      for (const window of pending.windows) {
        const at = window.minute * MINUTE;
        if (window.requests > 0)
          deltas.push({ kind: "window", key: `rpm:${id}`, by: window.requests, windowMs: MINUTE, at });
        if (window.tokens > 0)
          deltas.push({ kind: "window", key: `tpm:${id}`, by: window.tokens, windowMs: MINUTE, at });
        sent.push({ id, window, requests: window.requests, tokens: window.tokens, inFlight: 0 });
      }
      const own = this.own.get(id);
      // slots held for long keep their expiry fresh even when the count does not change
      const refresh = (own?.inFlight ?? 0) > 0 && now - pending.refreshedAt >= MINUTE;
      if (pending.inFlight !== 0 || refresh) {
        deltas.push({
          kind: "inFlight",
          key: `deployment:${id}`,
          by: pending.inFlight,
          ttlMs: IN_FLIGHT_TTL_MS,
        });
        sent.push({ id, requests: 0, tokens: 0, inFlight: pending.inFlight });
      }
    }
    if (deltas.length === 0) return;
    try {
      await applyDeltas(store, deltas, now);
    } catch {
      // kept for the next flush (the fallback store counted the error)
      this.stats.failedFlushes++;
      return;
    }
    this.stats.flushes++;
    const after = this.clock.now();
    for (const entry of sent) {
      const pending = this.pendingOf(entry.id);
      const own = this.ownOf(entry.id, after);
      if (entry.window) {
        entry.window.requests -= entry.requests;
        entry.window.tokens -= entry.tokens;
        if (entry.window.minute === own.minute) {
          own.requests += entry.requests;
          own.tokens += entry.tokens;
        }
      } else {
        pending.inFlight -= entry.inFlight;
        own.inFlight = Math.max(0, own.inFlight + entry.inFlight);
        pending.refreshedAt = now;
      }
    }
    // drop the windows fully written, except the current one (it keeps counting): once per deployment
    const current = Math.floor(after / MINUTE);
    for (const pending of this.pending.values())
      pending.windows = pending.windows.filter(
        (window) => window.requests > 0 || window.tokens > 0 || window.minute === current,
      );
  }

  private ownOf(id: string, now: number): Own {
    const minute = Math.floor(now / MINUTE);
    let own = this.own.get(id);
    if (!own) {
      own = { minute, requests: 0, tokens: 0, reserved: 0, inFlight: 0 };
      this.own.set(id, own);
    }
    if (own.minute !== minute) {
      own.minute = minute;
      own.requests = 0;
      own.tokens = 0;
    }
    return own;
  }

  private remoteOf(id: string, now: number): Remote | undefined {
    const remote = this.remote.get(id);
    if (!remote) return undefined;
    if (remote.minute !== Math.floor(now / MINUTE)) {
      remote.requests = 0;
      remote.tokens = 0;
    }
    return remote;
  }

  /** Writes in the background: the fallback store never rejects; anything else is ignored too. */
  private push(write: (shared: SharedState) => Promise<unknown>): void {
    if (!this.background) return;
    write(this.background).catch(() => undefined);
  }

  /** One pull of what the others did. Exposed for tests; runs on the timer. */
  async sync(): Promise<void> {
    const shared = this.background;
    if (!shared || this.syncing) return;
    this.syncing = true;
    try {
      const ids = this.options.deploymentIds;
      const [cooldowns, requests, tokens, inFlight] = await Promise.all([
        shared.getCooldowns(ids),
        Promise.all(ids.map((id) => shared.getWindow(`rpm:${id}`, MINUTE))),
        Promise.all(ids.map((id) => shared.getWindow(`tpm:${id}`, MINUTE))),
        Promise.all(ids.map((id) => shared.inFlight(`deployment:${id}`))),
      ]);
      const now = this.clock.now();
      if (shared.degraded) {
        // the answers came from local state: nothing is known of the others
        this.remote.clear();
        return;
      }
      ids.forEach((id, index) => {
        const own = this.ownOf(id, now);
        const until = cooldowns.get(id) ?? 0;
        this.adoptCooldown(id, until, now);
        this.remote.set(id, {
          minute: Math.floor(now / MINUTE),
          requests: Math.max(0, requests[index]! - own.requests),
          tokens: Math.max(0, tokens[index]! - own.tokens),
          inFlight: Math.max(0, inFlight[index]! - own.inFlight),
          cooldownUntil: until,
        });
      });
    } finally {
      this.syncing = false;
    }
  }

  /** A cooldown decided elsewhere (another instance, or the shared failure count): taken locally, reported once. */
  private adoptCooldown(id: string, until: number, now: number): void {
    if (until <= now) return;
    const known = this.local.cooldownUntil(id, now);
    if (known !== undefined && known >= until) return;
    this.local.setCooldown(id, until);
    try {
      this.options.onRemoteCooldown?.(id, until);
    } catch {
      // listeners are isolated
    }
  }

  inFlight(id: string): number {
    return this.local.inFlight(id) + (this.remote.get(id)?.inFlight ?? 0);
  }
  acquire(id: string): void {
    this.local.acquire(id);
    if (this.background) this.pendingOf(id).inFlight++;
  }
  release(id: string): void {
    this.local.release(id);
    if (this.background) this.pendingOf(id).inFlight--;
  }
  recordLatency(id: string, kind: LatencyKind, milliseconds: number): void {
    this.local.recordLatency(id, kind, milliseconds);
  }
  latencies(id: string, kind: LatencyKind): readonly number[] {
    return this.local.latencies(id, kind);
  }

  private leaseOf(id: string, now: number): Lease {
    const minute = Math.floor(now / MINUTE);
    let lease = this.leases.get(id);
    if (!lease) {
      lease = { minute, remaining: 0, full: false, size: 1, pending: undefined };
      this.leases.set(id, lease);
    } else if (lease.minute !== minute) {
      // what is left of the last minute's lease is gone with its window: take less next time
      if (lease.remaining > 0) lease.size = Math.max(1, Math.ceil(lease.size / 2));
      lease.minute = minute;
      lease.remaining = 0;
      lease.full = false;
    }
    return lease;
  }

  /**
   * Takes one request of `id`'s rpm: from this instance's lease when it has one left (no round trip),
   * else from a new lease taken atomically from the shared minute window. false: the deployment is at its
   * limit for this minute (the snapshot learns it too, and later calls are refused without asking).
   */
  reserveRequest(id: string, rpm: number): Promise<boolean> {
    if (!this.shared) return RESERVED;
    const now = this.clock.now();
    const lease = this.leaseOf(id, now);
    if (lease.remaining > 0) {
      lease.remaining--;
      this.ownOf(id, now).reserved++;
      return RESERVED;
    }
    if (lease.full) return REFUSED;
    return this.reserveFromNewLease(id, rpm);
  }

  private async reserveFromNewLease(id: string, rpm: number): Promise<boolean> {
    while (true) {
      const lease = this.leaseOf(id, this.clock.now());
      if (lease.remaining > 0) {
        lease.remaining--;
        this.ownOf(id, this.clock.now()).reserved++;
        return true;
      }
      if (lease.full) return false;
      if (!lease.pending)
        lease.pending = this.takeLease(id, rpm, lease).finally(() => {
          lease.pending = undefined;
        });
      // other reservations may use up what it brings: then the loop takes another lease
      await lease.pending;
    }
  }

  private async takeLease(id: string, rpm: number, lease: Lease): Promise<void> {
    const shared = this.shared!;
    const now = this.clock.now();
    const minute = Math.floor(now / MINUTE);
    const limit = maxLease(rpm);
    const size = Math.min(lease.size, limit);
    const result = await takeWindow(shared, `rpm:${id}`, size, MINUTE, rpm);
    // the minute ended meanwhile: the units belong to the old window (under-use within the bound)
    if (lease.minute !== minute) return;
    const own = this.ownOf(id, now);
    if (result.granted > 0) {
      own.requests += result.granted;
      lease.remaining += result.granted;
      lease.size = Math.min(limit, size * 2);
      return;
    }
    lease.full = true;
    const remote = this.remoteOf(id, now);
    const others = Math.max(0, result.count - own.requests);
    if (remote) remote.requests = Math.max(remote.requests, others);
    else
      this.remote.set(id, {
        minute,
        requests: others,
        tokens: 0,
        inFlight: 0,
        cooldownUntil: 0,
      });
  }

  recordRequest(id: string, now: number): void {
    this.local.recordRequest(id, now);
    const own = this.ownOf(id, now);
    if (own.reserved > 0) {
      own.reserved--;
      return;
    }
    if (this.background) this.pendingWindow(id, now).requests++;
  }
  recordTokens(id: string, tokens: number, now: number): void {
    this.local.recordTokens(id, tokens, now);
    if (tokens <= 0 || !this.background) return;
    this.pendingWindow(id, now).tokens += tokens;
  }
  usage(id: string, now: number): { requests: number; tokens: number } {
    const local = this.local.usage(id, now);
    const remote = this.remoteOf(id, now);
    if (!remote) return local;
    return { requests: local.requests + remote.requests, tokens: local.tokens + remote.tokens };
  }
  recordFailure(id: string, now: number): number {
    const failures = this.local.recordFailure(id, now);
    this.push(async (shared) => {
      const result = await shared.recordFailure(id, {
        windowMs: MINUTE,
        allowedFails: this.options.allowedFails,
        cooldownMs: this.options.cooldownMs,
      });
      if (result.cooldownUntil !== undefined) this.adoptCooldown(id, result.cooldownUntil, this.clock.now());
    });
    return failures;
  }
  cooldownUntil(id: string, now: number): number | undefined {
    const local = this.local.cooldownUntil(id, now);
    const remote = this.remote.get(id)?.cooldownUntil ?? 0;
    if (remote > now && (local === undefined || remote > local)) return remote;
    return local;
  }
  setCooldown(id: string, until: number): void {
    this.local.setCooldown(id, until);
    this.push((shared) => shared.setCooldown(id, until));
  }
}
