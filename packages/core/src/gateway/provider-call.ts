import type { Deployment } from "../config/types";
import type { ProviderCall } from "../providers/types";
import type { UpstreamSignal } from "../router/attempt-signal";
import type { UpstreamClient } from "../upstream/upstream-client";

/** Where a provider call's abort comes from: an attempt (both forms) or a call input (the AbortSignal). */
export interface AbortSource {
  readonly signal: AbortSignal;
  readonly upstreamSignal?: UpstreamSignal;
}

/**
 * What a provider gets for one attempt. `signal` is read from the source only when a provider asks
 * for it (an attempt makes its AbortSignal on first read); the built-in providers hand
 * `upstreamSignal` to the upstream request instead.
 */
export class AttemptCall implements ProviderCall {
  readonly upstreamSignal: UpstreamSignal | undefined;

  constructor(
    readonly deployment: Deployment,
    private readonly source: AbortSource,
    readonly http: UpstreamClient,
  ) {
    this.upstreamSignal = source.upstreamSignal;
  }

  get signal(): AbortSignal {
    return this.source.signal;
  }
}
