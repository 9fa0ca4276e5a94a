import type {
  AfterCallContext,
  BeforeCallContext,
  CallEvent,
  Logger,
  PluginAccess,
  PluginSharedState,
} from "@llmux/callbacks";
import { ALL_PROXY_MODELS as ALL_MODELS, modelAllowed } from "@llmux/core";
import { durationMs } from "../duration";
import { authError, budgetExceeded, databaseUnavailable, modelAccessDenied, rateLimited } from "../errors";
import { hashKey } from "../keys/key-material";
import { MemoryCounters } from "../memory-counters";
import type { SpendEntry } from "../spend/spend-entry";
import type { SpendWriter } from "../spend/spend-writer";
import type { RecordOf } from "../store/control-store";
import type { EntityKind, KeyRecord, TeamRecord, UserRecord } from "../store/records";
import type { RecordCache } from "./record-cache";

const MINUTE_MS = 60_000;
/** A parallel slot leaked by a call that never finished (crash) frees itself after this. */
const PARALLEL_SLOT_TTL_MS = 10 * MINUTE_MS;
/**
 * A key, user or team a call is checked against, and what this instance keeps for it across calls: its
 * latest cached record, the cost held by its calls in flight, its average cost per call, and its names
 * ("kind:id", the rate-limit counters'). One object per id, made at its first call and reused by every
 * later one (no subject object per call); the names are the same string objects on every call, so a
 * counter lookup hashes each once (a name built per call is a new string to flatten and hash each time).
 */
interface Subject {
  readonly kind: EntityKind;
  readonly id: string;
  /** The record the latest check used (the cache's, or its budget period rolled forward). */
  record: RecordOf<EntityKind>;
  slot: string;
  rpm: string;
  tpm: string;
  parallel: string;
  /** Cost held by calls in flight (USD). */
  held: number;
  /** Average cost per completed call (what a new call holds); undefined before the first priced call. */
  averageCost: number | undefined;
}

type Related = readonly [UserRecord | undefined, TeamRecord | undefined];

/** Neither a user nor a team (a key without them): one shared array, not one per call. */
const NO_RELATED: Related = Object.freeze([undefined, undefined] as const);

interface Reservation {
  subjects: Subject[];
  key: KeyRecord | undefined;
  /** Cost held against each subject's budget while the call runs. */
  reserved: number;
  parallel: string[];
  startedAt: number;
  /** Its place in the enforcer's list of calls in flight; -1 once released (afterCall, or swept). */
  index: number;
}

/** The name of the control plane's entry in a call's hook state (BeforeCallContext.state). */
const STATE_NAME = "control";

export interface EnforcerOptions {
  cache: RecordCache;
  writer: SpendWriter;
  state: PluginSharedState;
  logger: Logger;
  now?: () => number;
}

/**
 * The per-call checks of the control plane, with no database query on a cached identity:
 * `authenticate` turns a virtual key into access (401 for unknown, blocked or expired keys); `beforeCall`
 * checks models, budgets (cached spend + spend not yet written + cost held by calls in flight) and
 * rpm/tpm/parallel limits of the key, its user and its team — or of the user and team the host's
 * resolveContext gave, when no key was used; `afterCall` releases the call's hold, counts tokens and
 * queues the spend log row (which adds the spend in memory at once).
 */
export class Enforcer {
  /**
   * The holds of the calls in flight, for the sweep (a call whose afterCall never comes). Each call
   * finds its own on its hook state, so no per-call map keyed by call id: a hold leaves by swapping
   * the list's last one into its place.
   */
  private readonly inFlight: Reservation[] = [];
  /** Holds by call id, for a gateway that gives its hooks no per-call state (an older @llmux/core). */
  private readonly byCallId = new Map<string, Reservation>();
  private readonly now: () => number;
  /** Every subject this instance has checked (as the average costs were before: one entry per id). */
  private readonly subjects: Record<EntityKind, Map<string, Subject>> = {
    key: new Map(),
    user: new Map(),
    team: new Map(),
  };
  /**
   * The rpm/tpm/parallel counters without a promise, when the shared state is this process's own
   * (kind "memory": per-instance counts either way); undefined with Redis.
   */
  private readonly local: MemoryCounters | undefined;

  constructor(private readonly options: EnforcerOptions) {
    this.now = options.now ?? Date.now;
    const state = options.state;
    this.local =
      state instanceof MemoryCounters
        ? state
        : state.kind === "memory"
          ? new MemoryCounters(this.now)
          : undefined;
  }

  /**
   * Synchronous when the key (and its user and team) are cached: no promise, no await on the
   * per-call path; a promise only when something must be loaded from the database. `keyHash` is the
   * token's SHA-256 hex when the gateway already made it (for its master-key check): not hashed again.
   */
  authenticate(
    token: string,
    keyHash?: string,
  ): PluginAccess | undefined | Promise<PluginAccess | undefined> {
    if (!token.startsWith("sk-")) return undefined;
    const found = this.options.cache.lookup("key", keyHash ?? hashKey(token));
    if (found instanceof Promise) {
      return found.then(
        (key) => this.admit(key),
        () => {
          throw databaseUnavailable(
            "The control plane database is unavailable and this key is not cached yet",
          );
        },
      );
    }
    return this.admit(found);
  }

  private admit(key: KeyRecord | undefined): PluginAccess | undefined | Promise<PluginAccess | undefined> {
    if (!key) return undefined;
    if (key.blocked)
      throw authError("Authentication Error - Key is blocked. Update via `/key/unblock` if you're admin.");
    if (key.expires && Date.parse(key.expires) <= this.now()) {
      throw authError(
        `Authentication Error - Expired Key. Key Expiry time ${key.expires} and current time ${new Date(this.now()).toISOString()}`,
      );
    }
    const related = this.related(key.user_id, key.team_id);
    if (related instanceof Promise) return related.then((found) => this.access(key, found));
    return this.access(key, related);
  }

  private access(key: KeyRecord, [user, team]: Related): PluginAccess {
    if (team?.blocked) throw authError(`Authentication Error - Team=${team.team_id} is blocked.`);
    // Made once per key record and the user and team records it was made with: the cache replaces a
    // record when it reloads one (never changes it in place), so a new record makes a new access.
    const made = accessOfKey.get(key);
    if (made && made.user === user && made.team === team) return made.access;
    const access = newAccess(key, user, team);
    accessOfKey.set(key, { user, team, access });
    keyOfAccess.set(access, key);
    return access;
  }

  /** A subject with the record this call checks, made at the subject's first call. */
  private subjectOf(kind: EntityKind, id: string, record: RecordOf<EntityKind>): Subject {
    const known = this.subjects[kind];
    let subject = known.get(id);
    if (subject) {
      subject.record = record;
      return subject;
    }
    const slot = `${kind}:${id}`;
    subject = {
      kind,
      id,
      record,
      slot,
      rpm: `llmux:control:rpm:${slot}`,
      tpm: `llmux:control:tpm:${slot}`,
      parallel: `llmux:control:parallel:${slot}`,
      held: 0,
      averageCost: undefined,
    };
    known.set(id, subject);
    return subject;
  }

  /**
   * Synchronous (no promise) when the identities are cached, the shared state is this process's and
   * no subject has an rpm/tpm/parallel limit; otherwise a promise for the steps that need one.
   */
  beforeCall(context: BeforeCallContext): void | Promise<void> {
    // The key this plane admitted the caller with: the gateway hands the hooks the very access object
    // `authenticate` returned (another plugin's, or none, finds no key: a host identity then).
    const key = context.access ? keyOfAccess.get(context.access) : undefined;
    const metadata = context.context.metadata;
    // The key's user_api_key_* fields replace any other (a host's resolveContext may have set some).
    // Usually the metadata already holds exactly the key's (copied from the access): nothing to do
    // then, and no delete (which would turn the call's metadata object into a slow dictionary).
    const own = key ? keyMetadata(key) : NO_METADATA;
    for (const name in metadata)
      if (name.startsWith("user_api_key_") && !(name in own)) delete metadata[name];
    for (const name in own) if (metadata[name] !== own[name]) metadata[name] = own[name];
    const userId = key ? key.user_id : context.context.user;
    const teamId = key ? key.team_id : context.context.team;
    const related = this.related(userId ?? null, teamId ?? null);
    if (related instanceof Promise) return related.then((found) => this.check(context, key, found));
    return this.check(context, key, related);
  }

  private check(
    context: BeforeCallContext,
    key: KeyRecord | undefined,
    [user, team]: Related,
  ): void | Promise<void> {
    const metadata = context.context.metadata;
    const model = context.modelGroup;
    if (key && team && !modelAllowed(team.models, model)) {
      throw modelAccessDenied(
        `Team=${team.team_id} not allowed to access model=${model}. Allowed models=${JSON.stringify(team.models)}`,
        "team_model_access_denied",
      );
    }
    if (!key) {
      // A host identity: the user's and team's model lists apply (a key's were checked at authentication).
      if (user && !modelAllowed(user.models, model)) {
        throw modelAccessDenied(
          `User=${user.user_id} not allowed to access model=${model}. Allowed models=${JSON.stringify(user.models)}`,
          "user_model_access_denied",
        );
      }
      if (team && !modelAllowed(team.models, model)) {
        throw modelAccessDenied(
          `Team=${team.team_id} not allowed to access model=${model}. Allowed models=${JSON.stringify(team.models)}`,
          "team_model_access_denied",
        );
      }
    }
    // LiteLLM's budget metadata (what its Prometheus remaining-budget gauges are set from): spend so
    // far (written + buffered) and the budgets, for the key and its team.
    if (key) {
      metadata.user_api_key_spend = this.spendOf("key", key);
      if (key.max_budget !== null) metadata.user_api_key_max_budget = key.max_budget;
      if (key.budget_reset_at !== null) metadata.user_api_key_budget_reset_at = key.budget_reset_at;
    }
    if (team) {
      metadata.user_api_key_team_id ??= team.team_id;
      if (team.team_alias) metadata.user_api_key_team_alias = team.team_alias;
      metadata.user_api_key_team_spend = this.spendOf("team", team);
      if (team.max_budget !== null) metadata.user_api_key_team_max_budget = team.max_budget;
      if (team.budget_reset_at !== null) metadata.user_api_key_team_budget_reset_at = team.budget_reset_at;
    }
    const subjects: Subject[] = [];
    if (key) subjects.push(this.subjectOf("key", key.token, key));
    if (user) subjects.push(this.subjectOf("user", user.user_id, user));
    if (team) subjects.push(this.subjectOf("team", team.team_id, team));
    // Spend of other instances (Redis): one round trip, bounded by the shared state's deadline.
    const state = this.options.state;
    if (state.kind !== "memory" && state.getMany && subjects.some((subject) => hasBudget(subject.record)))
      return this.sharedSpend(subjects).then((shared) => this.hold(context, key, subjects, shared));
    return this.hold(context, key, subjects, []);
  }

  /** Checks the budgets and holds the call's cost in one synchronous step, then takes the limits. */
  private hold(
    context: BeforeCallContext,
    key: KeyRecord | undefined,
    subjects: Subject[],
    shared: number[],
  ): void | Promise<void> {
    // Concurrent calls see each other's holds.
    for (let index = 0; index < subjects.length; index++)
      this.checkBudget(subjects[index]!, shared[index] ?? 0);
    let reserved = 0;
    for (const subject of subjects) reserved = Math.max(reserved, subject.averageCost ?? 0);
    for (const subject of subjects) subject.held += reserved;
    if (!subjects.some(hasLimit)) {
      this.remember(context, subjects, key, reserved, NO_SLOTS);
      return;
    }
    if (this.local) {
      let parallel: string[];
      try {
        parallel = this.takeLocalLimits(this.local, subjects);
      } catch (error) {
        for (const subject of subjects) release(subject, reserved);
        throw error;
      }
      this.remember(context, subjects, key, reserved, parallel);
      return;
    }
    return this.takeLimits(subjects).then(
      (parallel) => {
        this.remember(context, subjects, key, reserved, parallel);
      },
      (error: unknown) => {
        for (const subject of subjects) release(subject, reserved);
        throw error;
      },
    );
  }

  /** Keeps a call's hold on its hook state (and in the list of calls in flight) until its afterCall. */
  private remember(
    context: BeforeCallContext,
    subjects: Subject[],
    key: KeyRecord | undefined,
    reserved: number,
    parallel: string[],
  ): void {
    const inFlight = this.inFlight;
    const reservation: Reservation = {
      subjects,
      key,
      reserved,
      parallel,
      startedAt: this.now(),
      index: inFlight.length,
    };
    inFlight.push(reservation);
    const state = context.state as Record<string, unknown> | undefined;
    if (state) state[STATE_NAME] = reservation;
    else this.byCallId.set(context.callId, reservation);
  }

  /** The call's hold, taken off its hook state; undefined when it has none. */
  private reservationOf(context: AfterCallContext): Reservation | undefined {
    const state = context.state as Record<string, unknown> | undefined;
    if (!state) {
      const reservation = this.byCallId.get(context.callId);
      this.byCallId.delete(context.callId);
      return reservation;
    }
    const reservation = state[STATE_NAME] as Reservation | undefined;
    if (reservation) state[STATE_NAME] = undefined;
    return reservation;
  }

  /** Takes a hold off the list of calls in flight; false when it was released already (swept). */
  private settle(reservation: Reservation): boolean {
    const index = reservation.index;
    if (index < 0) return false;
    const inFlight = this.inFlight;
    const last = inFlight.pop()!;
    if (last !== reservation) {
      inFlight[index] = last;
      last.index = index;
    }
    reservation.index = -1;
    return true;
  }

  afterCall(context: AfterCallContext): void {
    const reservation = this.reservationOf(context);
    const event = context.event;
    const cost = event.cost?.total ?? 0;
    const tokens = event.usage?.totalTokens ?? 0;
    // A swept hold (its call outlived the sweep's age) was released then: its row still names the key.
    if (reservation && this.settle(reservation)) {
      for (const subject of reservation.subjects) {
        release(subject, reservation.reserved);
        if (cost > 0) {
          const previous = subject.averageCost;
          subject.averageCost = previous === undefined ? cost : previous * 0.8 + cost * 0.2;
        }
        if (cost > 0) this.shareSpend(subject, cost);
        const limit = subject.record.tpm_limit;
        if (limit !== null && limit !== undefined && tokens > 0) {
          if (this.local) this.local.incrWindowNow(subject.tpm, tokens, MINUTE_MS);
          else void this.options.state.incrWindow(subject.tpm, tokens, MINUTE_MS).catch(() => undefined);
        }
      }
      this.releaseSlots(reservation.parallel);
    }
    // The key from the hold, or from the access when the call has none: the other calls a request made
    // (a /v1/completions with several prompts: one chat call each, one hold for the request) are the
    // key's spend too.
    const key = reservation ? reservation.key : context.access ? keyOfAccess.get(context.access) : undefined;
    this.options.writer.add(spendEntry(event, context.body, reservation, key));
  }

  private releaseSlots(names: string[]): void {
    for (const name of names) {
      if (this.local) this.local.releaseNow(name);
      else void this.options.state.release(name).catch(() => undefined);
    }
  }

  /** Calls whose afterCall never came (abandoned before the run began) release their hold after a while. */
  sweep(maxAgeMs = PARALLEL_SLOT_TTL_MS): void {
    const oldest = this.now() - maxAgeMs;
    const inFlight = this.inFlight;
    // from the end: a released hold is replaced by the list's last one, already looked at
    for (let index = inFlight.length - 1; index >= 0; index--) {
      const reservation = inFlight[index]!;
      if (reservation.startedAt > oldest) continue;
      this.settle(reservation);
      for (const subject of reservation.subjects) release(subject, reservation.reserved);
      this.releaseSlots(reservation.parallel);
    }
    for (const [callId, reservation] of this.byCallId)
      if (reservation.index < 0) this.byCallId.delete(callId);
  }

  /** Spend a budget is compared with: the record's spend + spend not yet written + cost held in flight. */
  spendOf(kind: EntityKind, record: RecordOf<EntityKind>): number {
    const id = idOf(kind, record);
    const periodOver = record.budget_reset_at !== null && Date.parse(record.budget_reset_at) <= this.now();
    const base = periodOver ? 0 : record.spend;
    return base + this.options.writer.pending(kind, id);
  }

  /**
   * The budget-period spend every instance added to the shared counters (Redis), for the subjects that
   * have a budget; zeros with in-process state (this instance's own view is then the whole truth).
   */
  private async sharedSpend(subjects: Subject[]): Promise<number[]> {
    const state = this.options.state;
    if (state.kind === "memory" || !state.getMany) return [];
    if (!subjects.some((subject) => hasBudget(subject.record))) return [];
    try {
      return await state.getMany(subjects.map(spendCounter));
    } catch {
      return []; // Redis away: the local view (database spend + this instance's unwritten spend) decides
    }
  }

  /** Adds a finished call's cost to the subject's shared counter, expiring with its budget period. */
  private shareSpend(subject: Subject, cost: number): void {
    const state = this.options.state;
    if (state.kind === "memory" || !state.incr || !hasBudget(subject.record)) return;
    const resetAt = subject.record.budget_reset_at;
    const ttl = resetAt === null ? undefined : Math.max(1_000, Date.parse(resetAt) - this.now());
    void state.incr(spendCounter(subject), cost, ttl).catch(() => undefined);
  }

  private checkBudget(subject: Subject, sharedSpend = 0): void {
    const max = subject.record.max_budget;
    if (max === null || max === undefined) return;
    const resetAt = subject.record.budget_reset_at;
    if (resetAt !== null && Date.parse(resetAt) <= this.now()) {
      // The period ended: roll the cached record forward now (the database does the same at the next
      // write), so spend committed from here on counts in the new period. In place, as the cache adds
      // committed spend (RecordCache.addSpend): the record keeps the hidden class of the database's rows.
      const record = subject.record;
      record.spend = 0;
      record.budget_reset_at = budgetPeriodEnd(record.budget_duration, this.now());
      this.options.cache.set(subject.kind, subject.id, record);
    }
    // Other instances' spend reaches this one through the shared counter at once, and through the
    // database at the next cache refresh; the larger of the two views counts.
    const spend = Math.max(this.spendOf(subject.kind, subject.record), sharedSpend);
    const held = subject.held;
    if (spend + held < max && !(max <= 0)) return;
    const who =
      subject.kind === "key" ? "" : subject.kind === "user" ? ` User=${subject.id}` : ` Team=${subject.id}`;
    const heldText = held > 0 ? ` (+${round(held)} held by calls in flight)` : "";
    throw budgetExceeded(
      `Budget has been exceeded!${who} Current cost: ${round(spend)}${heldText}, Max budget: ${max}`,
    );
  }

  /** rpm (checked and counted), tpm (checked) and parallel (slot taken) for every subject; all or nothing. */
  private async takeLimits(subjects: Subject[]): Promise<string[]> {
    const taken: string[] = [];
    const counted: string[] = [];
    const state = this.options.state;
    try {
      for (const subject of subjects) {
        const names = subject;
        const { tpm_limit: tpm, rpm_limit: rpm, max_parallel_requests: parallel } = subject.record;
        if (tpm !== null && tpm !== undefined) {
          const used = await state.getWindow(names.tpm, MINUTE_MS);
          if (used >= tpm) throw tpmExceeded(subject, used, tpm, this.now());
        }
        if (rpm !== null && rpm !== undefined) {
          const result = await state.tryIncrWindow(names.rpm, 1, MINUTE_MS, rpm);
          if (!result.allowed) throw rpmExceeded(subject, result.count, rpm, this.now());
          counted.push(names.rpm);
        }
        if (parallel !== null && parallel !== undefined) {
          const result = await state.acquire(names.parallel, {
            limit: parallel,
            ttlMs: PARALLEL_SLOT_TTL_MS,
          });
          if (!result.allowed) throw parallelExceeded(subject, result.count, parallel);
          taken.push(names.parallel);
        }
      }
      return taken;
    } catch (error) {
      for (const name of taken) await state.release(name).catch(() => undefined);
      for (const name of counted) await state.incrWindow(name, -1, MINUTE_MS).catch(() => undefined);
      throw error;
    }
  }

  /** `takeLimits` on this process's counters: no promise. */
  private takeLocalLimits(counters: MemoryCounters, subjects: Subject[]): string[] {
    let taken: string[] | undefined;
    let counted: string[] | undefined;
    try {
      for (const subject of subjects) {
        const record = subject.record;
        const tpm = record.tpm_limit;
        const rpm = record.rpm_limit;
        const parallel = record.max_parallel_requests;
        if (tpm !== null && tpm !== undefined) {
          const used = counters.getWindowNow(subject.tpm, MINUTE_MS);
          if (used >= tpm) throw tpmExceeded(subject, used, tpm, this.now());
        }
        if (rpm !== null && rpm !== undefined) {
          const name = subject.rpm;
          const result = counters.tryIncrWindowNow(name, 1, MINUTE_MS, rpm);
          if (!result.allowed) throw rpmExceeded(subject, result.count, rpm, this.now());
          if (counted) counted.push(name);
          else counted = [name];
        }
        if (parallel !== null && parallel !== undefined) {
          const name = subject.parallel;
          const result = counters.acquireNow(name, parallel);
          if (!result.allowed) throw parallelExceeded(subject, result.count, parallel);
          if (taken) taken.push(name);
          else taken = [name];
        }
      }
      return taken ?? NO_SLOTS;
    } catch (error) {
      if (taken) for (const name of taken) counters.releaseNow(name);
      if (counted) for (const name of counted) counters.incrWindowNow(name, -1, MINUTE_MS);
      throw error;
    }
  }

  /** The user and team records: at once when cached, a promise when one must be loaded. */
  private related(userId: string | null, teamId: string | null): Related | Promise<Related> {
    const cache = this.options.cache;
    const user = userId ? cache.lookup("user", userId) : undefined;
    const team = teamId ? cache.lookup("team", teamId) : undefined;
    if (!(user instanceof Promise) && !(team instanceof Promise))
      return user === undefined && team === undefined ? NO_RELATED : [user, team];
    return Promise.all([user, team]).catch((): Related => {
      // Not cached and the database is away: the call goes on without the user's/team's limits.
      this.options.logger.warn(
        "control plane: user/team not cached and the database is unavailable; their limits are not applied to this call",
      );
      return [
        userId ? cache.peek("user", userId) : undefined,
        teamId ? cache.peek("team", teamId) : undefined,
      ];
    });
  }
}

export function budgetPeriodEnd(duration: string | null | undefined, from: number): string | null {
  const period = durationMs(duration);
  return period === undefined ? null : new Date(from + period).toISOString();
}

/**
 * A key's access as the gateway gets it from `authenticate`, by key record. Shared by the key's calls,
 * which never change it: the gateway copies the context's metadata into each call's own metadata and
 * makes each request's access object itself.
 */
const accessOfKey = new WeakMap<
  KeyRecord,
  { user: UserRecord | undefined; team: TeamRecord | undefined; access: PluginAccess }
>();

/** The key of each access object `authenticate` made: how beforeCall knows the call's key. */
const keyOfAccess = new WeakMap<PluginAccess, KeyRecord>();

function newAccess(key: KeyRecord, user: UserRecord | undefined, team: TeamRecord | undefined): PluginAccess {
  const context: NonNullable<PluginAccess["context"]> = {
    metadata: keyMetadata(key) as Record<string, unknown>,
  };
  if (key.user_id) context.user = key.user_id;
  if (key.team_id) context.team = key.team_id;
  const access: PluginAccess = { context: Object.freeze(context) };
  const allowed = allowedModels(key.models, team?.models);
  if (allowed) access.allowedModels = Object.freeze(allowed) as string[];
  if (user?.user_role === "proxy_admin") access.admin = true;
  // frozen: shared by the key's calls, so a change by one (core only reads it) would reach the others
  return Object.freeze(access);
}

/** A key record's metadata, made once per record object (the gateway copies it into each call's context). */
const metadataOfKey = new WeakMap<KeyRecord, Readonly<Record<string, unknown>>>();

function keyMetadata(key: KeyRecord): Readonly<Record<string, unknown>> {
  let metadata = metadataOfKey.get(key);
  if (!metadata) {
    metadata = Object.freeze(newKeyMetadata(key));
    metadataOfKey.set(key, metadata);
  }
  return metadata;
}

function newKeyMetadata(key: KeyRecord): Record<string, unknown> {
  const metadata: Record<string, unknown> = { user_api_key_hash: key.token };
  if (key.key_alias) metadata.user_api_key_alias = key.key_alias;
  if (key.user_id) metadata.user_api_key_user_id = key.user_id;
  if (key.team_id) metadata.user_api_key_team_id = key.team_id;
  return metadata;
}

/** A key's models narrowed by its team's (empty or all-proxy-models: no restriction). */
function allowedModels(
  keyModels: readonly string[],
  teamModels: readonly string[] | undefined,
): string[] | undefined {
  const key = keyModels.length > 0 && !keyModels.includes(ALL_MODELS) ? keyModels : undefined;
  const team =
    teamModels && teamModels.length > 0 && !teamModels.includes(ALL_MODELS) ? teamModels : undefined;
  // Both restrict: the key's entries the team allows (a wildcard entry of the key stays, and the
  // team's own list is checked again on each call in beforeCall).
  if (key && team) return key.filter((model) => model.includes("*") || modelAllowed(team, model));
  return key ? [...key] : team ? [...team] : undefined;
}

function hasLimit(subject: Subject): boolean {
  const record = subject.record;
  return (
    (record.tpm_limit !== null && record.tpm_limit !== undefined) ||
    (record.rpm_limit !== null && record.rpm_limit !== undefined) ||
    (record.max_parallel_requests !== null && record.max_parallel_requests !== undefined)
  );
}

/** A reservation without parallel slots (shared: never written to). */
const NO_SLOTS: string[] = [];

/** The subject as LiteLLM's rate-limit messages name it (built only when a limit is hit). */
function limitLabel(subject: Subject): string {
  if (subject.kind !== "key") return `${subject.kind}: ${subject.id}`;
  const key = subject.record as KeyRecord;
  return `api_key: ${key.key_alias ?? key.key_name}`;
}

function tpmExceeded(subject: Subject, used: number, limit: number, now: number) {
  return rateLimited(
    `Rate limit exceeded for ${limitLabel(subject)}. Limit type: tokens. Current usage: ${used}, limit: ${limit} tokens per minute`,
    MINUTE_MS - (now % MINUTE_MS),
  );
}

function rpmExceeded(subject: Subject, used: number, limit: number, now: number) {
  return rateLimited(
    `Rate limit exceeded for ${limitLabel(subject)}. Limit type: requests. Current usage: ${used}, limit: ${limit} requests per minute`,
    MINUTE_MS - (now % MINUTE_MS),
  );
}

function parallelExceeded(subject: Subject, current: number, limit: number) {
  return rateLimited(
    `Max parallel request limit reached for ${limitLabel(subject)}. Current: ${current}, max_parallel_requests: ${limit}`,
    1_000,
  );
}

function hasBudget(record: RecordOf<EntityKind>): boolean {
  return record.max_budget !== null && record.max_budget !== undefined;
}

/**
 * A subject's shared spend counter for its current budget period. The period's end is part of the
 * name, so a reset starts a fresh counter on every instance that has the period's record.
 */
function spendCounter(subject: Subject): string {
  return `llmux:control:spend:${slot(subject)}:${subject.record.budget_reset_at ?? "lifetime"}`;
}

function slot(subject: Subject): string {
  return subject.slot;
}

function idOf(kind: EntityKind, record: RecordOf<EntityKind>): string {
  if (kind === "key") return (record as KeyRecord).token;
  if (kind === "user") return (record as UserRecord).user_id;
  return (record as TeamRecord).team_id;
}

/** Takes a finished (or refused) call's hold off its subject. */
function release(subject: Subject, reserved: number): void {
  subject.held -= reserved;
  if (subject.held <= 1e-12) subject.held = 0;
}

function round(value: number): number {
  return Math.round(value * 1e8) / 1e8;
}

/** The call's spend log row: one flat array, no dates formatted (the database does it at batch time). */
function spendEntry(
  event: CallEvent,
  body: Record<string, unknown>,
  reservation: Reservation | undefined,
  key: KeyRecord | undefined,
): SpendEntry {
  const usage = event.usage;
  let user: string | null | undefined;
  let team: string | null | undefined;
  if (reservation) {
    for (const subject of reservation.subjects) {
      if (subject.kind === "user") user = subject.id;
      else if (subject.kind === "team") team = subject.id;
    }
  }
  if (user === undefined) user = (key ? key.user_id : event.user) ?? null;
  if (team === undefined) team = (key ? key.team_id : event.team) ?? null;
  const timings = event.timings;
  const endUser = body.user;
  // In SPEND_COLUMNS order.
  return [
    event.callId,
    event.callType,
    key ? key.token : null,
    key ? key.key_alias : null,
    user,
    team,
    typeof endUser === "string" ? endUser.slice(0, 256) : null,
    event.requestedModel,
    event.modelGroup,
    event.deploymentId ?? null,
    event.provider ?? null,
    usage?.inputTokens ?? 0,
    usage?.outputTokens ?? 0,
    usage?.totalTokens ?? 0,
    usage?.cachedInputTokens ?? 0,
    usage?.cacheCreationInputTokens ?? 0,
    event.cost?.total ?? 0,
    event.status,
    Math.round(timings.durationMs),
    timings.startTime,
    timings.endTime,
    event.session ?? null,
    event.tags,
    event.error ? { error_type: event.error.type, error_status: event.error.status } : NO_METADATA,
  ];
}

/** The metadata of a successful call's row (shared, never written to). */
const NO_METADATA: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
