import type { CallEvent } from "@llmux/callbacks";
import type { AttemptView, CallDetail, CallSummary } from "../types";

/**
 * The last N calls, newest last, in a fixed ring: memory stays bounded whatever the traffic. Each
 * entry keeps the summary shown in the list and the detail shown when a call is opened (content cut
 * to `maxContentBytes`, and none at all when the call was redacted).
 */
export class CallRing {
  private readonly slots: Array<CallDetail | undefined>;
  private next = 0;
  private seq = 0;
  private readonly byId = new Map<string, CallDetail>();

  constructor(
    private readonly capacity: number,
    private readonly maxContentBytes: number,
    private readonly redact: boolean,
  ) {
    this.slots = new Array(capacity);
  }

  add(event: CallEvent): CallDetail {
    const detail = toDetail(event, ++this.seq, this.redact, this.maxContentBytes);
    const old = this.slots[this.next];
    if (old) this.byId.delete(old.callId);
    this.slots[this.next] = detail;
    this.byId.set(detail.callId, detail);
    this.next = (this.next + 1) % this.capacity;
    return detail;
  }

  get(callId: string): CallDetail | undefined {
    return this.byId.get(callId);
  }

  /** Sequence number of the newest call (0 before any). */
  get cursor(): number {
    return this.seq;
  }

  /** Summaries newer than `since`, newest first, at most `limit`. */
  list(since: number, limit: number): CallSummary[] {
    const result: CallSummary[] = [];
    for (let step = 1; step <= this.capacity && result.length < limit; step++) {
      const slot = this.slots[(this.next - step + this.capacity) % this.capacity];
      if (!slot || slot.seq <= since) break;
      result.push(summaryOf(slot));
    }
    return result;
  }

  /** Every kept call, oldest first (for percentiles and per-deployment windows). */
  *all(): Generator<CallDetail> {
    for (let step = this.capacity; step >= 1; step--) {
      const slot = this.slots[(this.next - step + this.capacity) % this.capacity];
      if (slot) yield slot;
    }
  }
}

const SUMMARY_KEYS = [
  "seq",
  "callId",
  "time",
  "callType",
  "stream",
  "modelGroup",
  "requestedModel",
  "deploymentId",
  "provider",
  "status",
  "httpStatus",
  "errorType",
  "inputTokens",
  "outputTokens",
  "totalTokens",
  "cost",
  "costReason",
  "latencyMs",
  "ttftMs",
  "user",
  "team",
  "keyAlias",
  "attempts",
  "fallbacks",
] as const satisfies ReadonlyArray<keyof CallSummary>;

function summaryOf(detail: CallDetail): CallSummary {
  const summary: Record<string, unknown> = {};
  for (const key of SUMMARY_KEYS) if (detail[key] !== undefined) summary[key] = detail[key];
  return summary as unknown as CallSummary;
}

/** The key alias a control plane (or the host's authorize hook) attached to the call, LiteLLM's names first. */
export function keyAliasOf(event: Pick<CallEvent, "metadata">): string | undefined {
  const metadata = event.metadata ?? {};
  for (const name of ["user_api_key_alias", "key_alias", "api_key_alias"]) {
    const value = metadata[name];
    if (typeof value === "string" && value.length > 0) return value;
  }
  return undefined;
}

function toDetail(event: CallEvent, seq: number, redactAll: boolean, maxBytes: number): CallDetail {
  const usage = event.usage;
  const detail: CallDetail = {
    seq,
    callId: event.callId,
    time: event.startTime,
    callType: event.callType,
    stream: event.stream,
    modelGroup: event.modelGroup,
    requestedModel: event.requestedModel,
    status: event.status,
    httpStatus: event.status === "success" ? 200 : (event.error?.status ?? 500),
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    totalTokens: usage ? usage.inputTokens + usage.outputTokens : 0,
    cost: event.cost ? event.cost.total : null,
    latencyMs: event.timings.durationMs,
    attempts: event.attempts.length,
    fallbacks: event.fallbacks,
    attemptList: event.attempts.map(attemptView),
    tags: [...event.tags],
    requestParams: { ...event.requestParams },
    timings: {
      durationMs: event.timings.durationMs,
      upstreamMs: event.timings.upstreamMs,
      overheadMs: event.timings.overheadMs,
    },
    redacted: redactAll || event.redacted,
  };
  if (event.deploymentId) detail.deploymentId = event.deploymentId;
  if (event.provider) detail.provider = event.provider;
  if (event.error) {
    detail.errorType = event.error.type;
    detail.error = { type: event.error.type, status: event.error.status, message: event.error.message };
    if (event.error.provider) detail.error.provider = event.error.provider;
    if (event.error.upstreamStatus !== undefined) detail.error.upstreamStatus = event.error.upstreamStatus;
  }
  if (event.costReason) detail.costReason = event.costReason;
  if (event.timings.ttftMs !== undefined) {
    detail.ttftMs = event.timings.ttftMs;
    detail.timings.ttftMs = event.timings.ttftMs;
  }
  if (event.user) detail.user = event.user;
  if (event.team) detail.team = event.team;
  if (event.session) detail.session = event.session;
  const alias = keyAliasOf(event);
  if (alias) detail.keyAlias = alias;
  if (!detail.redacted) {
    const messages = bounded(event.messages, maxBytes);
    const response = bounded(event.response, maxBytes);
    if (messages.value !== undefined) detail.messages = messages.value;
    if (response.value !== undefined) detail.response = response.value;
    if (messages.truncated || response.truncated) detail.truncated = true;
  }
  return detail;
}

function attemptView(attempt: CallEvent["attempts"][number]): AttemptView {
  const view: AttemptView = {
    index: attempt.index,
    modelGroup: attempt.modelGroup,
    deploymentId: attempt.deploymentId,
    provider: attempt.provider,
    model: attempt.model,
    startTime: attempt.startTime,
    latencyMs: attempt.latencyMs,
    outcome: attempt.outcome,
    fallback: attempt.fallback,
  };
  if (attempt.apiBase) view.apiBase = attempt.apiBase;
  if (attempt.error) {
    view.error = { type: attempt.error.type, status: attempt.error.status, message: attempt.error.message };
    if (attempt.error.upstreamStatus !== undefined) view.error.upstreamStatus = attempt.error.upstreamStatus;
  }
  return view;
}

/** The value itself when its JSON fits in `maxBytes`, else its JSON text cut to that size. */
function bounded(value: unknown, maxBytes: number): { value?: unknown; truncated: boolean } {
  if (value === undefined) return { truncated: false };
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return { value: "[unserialisable]", truncated: true };
  }
  if (text === undefined) return { truncated: false };
  if (text.length <= maxBytes) return { value, truncated: false };
  return { value: `${text.slice(0, maxBytes)}…`, truncated: true };
}
