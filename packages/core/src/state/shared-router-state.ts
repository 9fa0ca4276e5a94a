import {
  type Clock,
  type LatencyKind,
  MemoryRouterState,
  type RouterState,
  systemClock,
} from "../router/router-state";
import type { SharedState, SharedStateHealth } from "./shared-state";

const MINUTE = 60_000;
/** A slot leaked by a crashed instance is forgotten after this long. */
const IN_FLIGHT_TTL_MS = 10 * MINUTE;

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

interface Own {
  minute: number;
  /** What this instance added to the shared minute window (requests pushed or reserved, tokens pushed). */
  requests: number;
  tokens: number;
  /** Reservations made by reserveRequest and not yet matched by recordRequest. */
  reserved: number;
  /** This instance's slots as the shared store counts them. */
  inFlight: number;
}

/**
 * The router's state when several instances share a store: a local snapshot that every routing decision
 * reads synchronously (never waiting on the network), kept in step with the shared store.
 *
 * - Writes go to the local state at once and to the shared store in the background (acquire/release,
 *   requests, tokens, failures, cooldowns); ioredis pipelines the writes of one tick into one round trip.
 * - Every `syncIntervalMs` one pull refreshes what the other instances did: their cooldowns, requests and
 *   tokens of the current minute, their calls in flight.
 * - rpm limits are exact: `reserveRequest` takes the request from the shared minute window atomically
 *   before the attempt (one round trip, bounded by the store's deadline).
 * - tpm, in-flight counts of the others and remote cooldowns lag by at most one sync interval plus one
 *   round trip. Latency samples stay per instance.
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
    this.timer = setInterval(() => void this.sync(), this.options.syncIntervalMs ?? 200);
    this.timer.unref?.();
    void this.sync();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
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
    this.ownOf(id, this.clock.now()).inFlight++;
    this.push((shared) => shared.acquire(`deployment:${id}`, { ttlMs: IN_FLIGHT_TTL_MS }));
  }
  release(id: string): void {
    this.local.release(id);
    const own = this.ownOf(id, this.clock.now());
    if (own.inFlight > 0) own.inFlight--;
    this.push((shared) => shared.release(`deployment:${id}`));
  }
  recordLatency(id: string, kind: LatencyKind, milliseconds: number): void {
    this.local.recordLatency(id, kind, milliseconds);
  }
  latencies(id: string, kind: LatencyKind): readonly number[] {
    return this.local.latencies(id, kind);
  }

  /**
   * Takes one request of `id`'s rpm from the shared minute window, atomically across instances. false:
   * the deployment is at its limit for this minute (the snapshot learns it too).
   */
  async reserveRequest(id: string, rpm: number): Promise<boolean> {
    const shared = this.shared;
    if (!shared) return true;
    const now = this.clock.now();
    const result = await shared.tryIncrWindow(`rpm:${id}`, 1, MINUTE, rpm);
    const own = this.ownOf(id, now);
    if (result.allowed) {
      own.requests++;
      own.reserved++;
      return true;
    }
    const remote = this.remoteOf(id, now);
    const others = Math.max(0, result.count - own.requests);
    if (remote) remote.requests = Math.max(remote.requests, others);
    else
      this.remote.set(id, {
        minute: Math.floor(now / MINUTE),
        requests: others,
        tokens: 0,
        inFlight: 0,
        cooldownUntil: 0,
      });
    return false;
  }

  recordRequest(id: string, now: number): void {
    this.local.recordRequest(id, now);
    const own = this.ownOf(id, now);
    if (own.reserved > 0) {
      own.reserved--;
      return;
    }
    own.requests++;
    this.push((shared) => shared.incrWindow(`rpm:${id}`, 1, MINUTE));
  }
  recordTokens(id: string, tokens: number, now: number): void {
    this.local.recordTokens(id, tokens, now);
    if (tokens <= 0) return;
    this.ownOf(id, now).tokens += tokens;
    this.push((shared) => shared.incrWindow(`tpm:${id}`, tokens, MINUTE));
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
