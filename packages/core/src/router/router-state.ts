/**
 * Everything the router remembers about deployments, behind one interface so a shared store
 * (Redis) can replace the in-memory one. Times are epoch milliseconds from the injected clock.
 */
export interface RouterState {
  inFlight(deploymentId: string): number;
  acquire(deploymentId: string): void;
  release(deploymentId: string): void;
  recordLatency(deploymentId: string, kind: LatencyKind, milliseconds: number): void;
  /** Recent samples, oldest first (a moving window). */
  latencies(deploymentId: string, kind: LatencyKind): readonly number[];
  recordRequest(deploymentId: string, now: number): void;
  recordTokens(deploymentId: string, tokens: number, now: number): void;
  /** Requests and tokens in the current minute. */
  usage(deploymentId: string, now: number): { requests: number; tokens: number };
  /** Records a failure and returns the failures in the last 60 s. */
  recordFailure(deploymentId: string, now: number): number;
  cooldownUntil(deploymentId: string, now: number): number | undefined;
  setCooldown(deploymentId: string, until: number): void;
  /**
   * Shared states only: takes one request of the deployment's rpm atomically across instances before an
   * attempt; false when the deployment is at its limit for this minute.
   */
  reserveRequest?(deploymentId: string, rpm: number): Promise<boolean>;
}

export type LatencyKind = "latency" | "ttft";

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

interface DeploymentRecord {
  inFlight: number;
  latency: number[];
  ttft: number[];
  minute: number;
  requests: number;
  tokens: number;
  failures: number[];
  cooldownUntil: number;
}

/** The in-memory RouterState (one process). */
export class MemoryRouterState implements RouterState {
  private readonly records = new Map<string, DeploymentRecord>();
  constructor(private readonly windowSize = 10) {}

  private record(id: string): DeploymentRecord {
    let record = this.records.get(id);
    if (!record) {
      record = {
        inFlight: 0,
        latency: [],
        ttft: [],
        minute: 0,
        requests: 0,
        tokens: 0,
        failures: [],
        cooldownUntil: 0,
      };
      this.records.set(id, record);
    }
    return record;
  }

  inFlight(id: string): number {
    return this.records.get(id)?.inFlight ?? 0;
  }
  acquire(id: string): void {
    this.record(id).inFlight++;
  }
  release(id: string): void {
    const record = this.record(id);
    if (record.inFlight > 0) record.inFlight--;
  }
  recordLatency(id: string, kind: LatencyKind, milliseconds: number): void {
    const window = this.record(id)[kind];
    window.push(milliseconds);
    if (window.length > this.windowSize) window.shift();
  }
  latencies(id: string, kind: LatencyKind): readonly number[] {
    return this.records.get(id)?.[kind] ?? [];
  }
  private roll(record: DeploymentRecord, now: number): void {
    const minute = Math.floor(now / 60_000);
    if (record.minute !== minute) {
      record.minute = minute;
      record.requests = 0;
      record.tokens = 0;
    }
  }
  recordRequest(id: string, now: number): void {
    const record = this.record(id);
    this.roll(record, now);
    record.requests++;
  }
  recordTokens(id: string, tokens: number, now: number): void {
    const record = this.record(id);
    this.roll(record, now);
    record.tokens += tokens;
  }
  usage(id: string, now: number): { requests: number; tokens: number } {
    const record = this.records.get(id);
    if (!record) return { requests: 0, tokens: 0 };
    this.roll(record, now);
    return { requests: record.requests, tokens: record.tokens };
  }
  recordFailure(id: string, now: number): number {
    const failures = this.record(id).failures;
    failures.push(now);
    while (failures.length > 0 && failures[0]! <= now - 60_000) failures.shift();
    return failures.length;
  }
  cooldownUntil(id: string, now: number): number | undefined {
    const until = this.records.get(id)?.cooldownUntil ?? 0;
    return until > now ? until : undefined;
  }
  setCooldown(id: string, until: number): void {
    const record = this.record(id);
    record.cooldownUntil = until;
    record.failures.length = 0;
  }
}
