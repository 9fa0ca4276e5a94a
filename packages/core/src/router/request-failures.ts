import type { Deployment } from "../config/types";
import type { LlmuxError } from "../errors/llmux-error";

interface Deferred {
  deployment: Deployment;
  error: LlmuxError;
  time: number;
}

/**
 * The failures one routed request caused, held until the request settles so that the request's own
 * fault does not cool healthy deployments:
 * - a deployment is charged at most one failure per request (retries of the same bad request on
 *   the same deployment do not add up to allowed_fails);
 * - when the request failed on two or more deployments with the same error (kind and upstream
 *   status) and succeeded nowhere, the error is the request's, and no deployment is charged.
 * Failures that arrive after the request settled (a stream failing mid-way) are charged at once.
 * Only the counted kinds go through here (5xx, timeouts, connection errors); 429/401/403/404
 * describe the deployment and cool it immediately.
 */
const NONE: readonly Deferred[] = [];

export class RequestFailures {
  /** Made on the first failure (most requests have none). */
  private deferred: Map<string, Deferred> | undefined = undefined;
  private settled = false;

  /** Holds a failure; false when the request already settled (the caller charges it at once). */
  defer(deployment: Deployment, error: LlmuxError, time: number): boolean {
    if (this.settled) return false;
    this.deferred ??= new Map();
    if (!this.deferred.has(deployment.id)) this.deferred.set(deployment.id, { deployment, error, time });
    return true;
  }

  /** The failures to charge now that the request ended (`succeeded`: some deployment answered). */
  settle(succeeded: boolean): readonly Deferred[] {
    this.settled = true;
    if (this.deferred === undefined) return NONE;
    const all = [...this.deferred.values()];
    this.deferred.clear();
    if (succeeded || all.length < 2) return all;
    const signature = (entry: Deferred) => `${entry.error.kind}:${entry.error.upstreamStatus ?? ""}`;
    const first = signature(all[0]!);
    return all.every((entry) => signature(entry) === first) ? [] : all;
  }
}
