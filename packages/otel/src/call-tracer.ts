/**
 * createCallTracer: one CLIENT span per call ("chat {model}" / "embeddings {model}"), a child of
 * the host's active span (or of the caller's W3C traceparent when no span is active), with one
 * child span per upstream attempt. Never throws; every failure is counted and swallowed.
 */
import type { AttemptRecord, AttemptTrace, CallEvent, CallStartEvent, CallTrace } from "@llmux/callbacks";
import {
  type Context,
  context,
  defaultTextMapGetter,
  INVALID_SPANID,
  INVALID_TRACEID,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_EMBEDDINGS,
  GEN_AI_OPERATION_NAME,
  GEN_AI_REQUEST_MODEL,
} from "./attributes";
import type { VendorKeys } from "./call-attributes";
import {
  attemptEndAttributes,
  attemptStartAttributes,
  callSpanName,
  writeContentAttributes,
  writeEndAttributes,
  writeStartAttributes,
} from "./call-attributes";
import type { CallTracerOptions, CallTracerStats, LlmuxCallTracer, RecordedCall } from "./types";
import { TRACER_NAME, TRACER_VERSION } from "./version";

const propagator = new W3CTraceContextPropagator();

/** Mutable settings of a tracer (the shared tracer is reconfigured as plugins join). */
export interface CallTracerSettings {
  captureContent: boolean;
  environment?: string;
  release?: string;
  /** Which vendor attribute families spans carry (the shared tracer follows its exporters). */
  vendors: VendorKeys;
}

interface TracerState {
  settings: CallTracerSettings;
  getTracer: () => Tracer;
  recent: RecentCalls;
  counts: CallTracerStats;
}

/**
 * The last `max` calls recorded (callId → ids), for the feedback route's lookups. Recording is two
 * stores into a ring (no hashing, no map to grow and compact: a call's end is on the hot path);
 * a lookup, rare, scans the ring from the newest. A call recorded again takes a new place (the
 * lookup finds its latest ids).
 */
export class RecentCalls {
  private readonly callIds: Array<string | undefined>;
  private readonly ids: Array<RecordedCall | undefined>;
  private next = 0;
  constructor(max: number) {
    const size = Math.max(0, Math.floor(max));
    this.callIds = new Array(size).fill(undefined);
    this.ids = new Array(size).fill(undefined);
  }

  set(callId: string, ids: RecordedCall): void {
    const slot = this.next;
    if (slot >= this.callIds.length) return;
    this.callIds[slot] = callId;
    this.ids[slot] = ids;
    this.next = slot + 1 === this.callIds.length ? 0 : slot + 1;
  }

  get(callId: string): RecordedCall | undefined {
    const callIds = this.callIds;
    const size = callIds.length;
    for (let step = 1; step <= size; step++) {
      const slot = (this.next - step + size) % size;
      if (callIds[slot] === callId) return this.ids[slot];
    }
    return undefined;
  }
}

const NOOP_ATTEMPT: AttemptTrace = { end() {} };

const NOOP_TRACE: CallTrace = {
  traceId: INVALID_TRACEID,
  spanId: INVALID_SPANID,
  startAttempt: () => NOOP_ATTEMPT,
  end() {},
};

class SpanAttemptTrace implements AttemptTrace {
  private ended = false;
  constructor(
    private readonly span: Span,
    private readonly state: TracerState,
  ) {}

  end(record: AttemptRecord): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.span.setAttributes(attemptEndAttributes(record));
      if (record.outcome !== "success") {
        this.span.setStatus({ code: SpanStatusCode.ERROR, message: record.error?.message ?? record.outcome });
      }
      this.span.end(record.endTime);
    } catch {
      this.state.counts.errors++;
    }
  }
}

class SpanCallTrace implements CallTrace {
  readonly traceId: string;
  readonly spanId: string;
  private ended = false;
  private readonly callContext: Context;

  constructor(
    private readonly span: Span,
    parent: Context,
    private readonly state: TracerState,
  ) {
    const spanContext = span.spanContext();
    this.traceId = spanContext.traceId;
    this.spanId = spanContext.spanId;
    this.callContext = trace.setSpan(parent, span);
  }

  startAttempt(attempt: {
    index: number;
    deploymentId: string;
    provider: string;
    model: string;
    apiBase?: string;
    fallback: boolean;
    startTime: number;
  }): AttemptTrace {
    try {
      const span = this.state.getTracer().startSpan(
        `attempt ${attempt.deploymentId}`,
        {
          kind: SpanKind.INTERNAL,
          startTime: attempt.startTime,
          attributes: attemptStartAttributes(attempt, this.state.settings.vendors, this.state.settings),
        },
        this.callContext,
      );
      return new SpanAttemptTrace(span, this.state);
    } catch {
      this.state.counts.errors++;
      return NOOP_ATTEMPT;
    }
  }

  end(event: CallEvent): void {
    if (this.ended) return;
    this.ended = true;
    try {
      const span = this.span;
      if (span.isRecording()) {
        const settings = this.state.settings;
        writeEndAttributes(event, settings.vendors, span);
        if (settings.captureContent && !event.redacted) writeContentAttributes(event, settings.vendors, span);
        if (event.status === "failure") {
          span.setStatus({ code: SpanStatusCode.ERROR, message: event.error?.message ?? "call failed" });
        } else {
          span.setStatus({ code: SpanStatusCode.OK });
        }
      }
      span.end(event.timings.endTime);
      this.state.recent.set(event.callId, { traceId: this.traceId, spanId: this.spanId });
      this.state.counts.ended++;
    } catch {
      this.state.counts.errors++;
      try {
        // never leave a span open: end it with what it has
        if (this.span.isRecording()) this.span.end();
      } catch {
        // nothing more to do
      }
    }
  }
}

function parentContext(carrier: { traceparent?: string; tracestate?: string } | undefined): Context {
  const active = context.active();
  if (trace.getSpan(active) !== undefined || !carrier?.traceparent) return active;
  return propagator.extract(active, carrier, defaultTextMapGetter);
}

/** Builds a tracer over a tracer source; the shared registry passes a getter that follows its provider. */
export function buildCallTracer(
  settings: CallTracerSettings,
  getTracer: () => Tracer,
  maxRecentCalls = 10_000,
): LlmuxCallTracer & { readonly settings: CallTracerSettings } {
  const state: TracerState = {
    settings,
    getTracer,
    recent: new RecentCalls(maxRecentCalls),
    counts: { started: 0, ended: 0, errors: 0 },
  };
  return {
    settings,
    startCall(event: CallStartEvent, carrier: { traceparent?: string; tracestate?: string }): CallTrace {
      try {
        const parent = parentContext(carrier);
        const operation =
          event.callType === "embeddings" ? GEN_AI_OPERATION_EMBEDDINGS : GEN_AI_OPERATION_CHAT;
        // Samplers see the operation and the model. The rest goes straight onto the span: the SDK
        // copies attributes given to startSpan twice (sanitizing) before setting them one by one,
        // and a ~40-key object costs more to build than the calls it saves (measured).
        const span = state.getTracer().startSpan(
          callSpanName(event),
          {
            kind: SpanKind.CLIENT,
            startTime: event.startTime,
            attributes: { [GEN_AI_OPERATION_NAME]: operation, [GEN_AI_REQUEST_MODEL]: event.requestedModel },
          },
          parent,
        );
        // A span the sampler dropped costs nothing more.
        if (span.isRecording()) {
          const settings = state.settings;
          writeStartAttributes(event, settings, settings.vendors, span);
        }
        state.counts.started++;
        return new SpanCallTrace(span, parent, state);
      } catch {
        state.counts.errors++;
        return NOOP_TRACE;
      }
    },
    lookupCall(callId: string): RecordedCall | undefined {
      return state.recent.get(callId);
    },
    stats(): CallTracerStats {
      return { ...state.counts };
    },
  };
}

/**
 * A CallTracer over `options.tracer`, or over the global tracer provider (the host's SDK, or the
 * one `setupTracing` registered). To share one tracer and exporter pipeline between plugins use
 * `getSharedCallTracer()` instead.
 */
export function createCallTracer(options: CallTracerOptions = {}): LlmuxCallTracer {
  const explicit = options.tracer;
  const getTracer = explicit ? () => explicit : () => trace.getTracer(TRACER_NAME, TRACER_VERSION);
  return buildCallTracer(
    {
      captureContent: options.captureContent ?? false,
      environment: options.environment,
      release: options.release,
      vendors: {
        langfuse: options.vendorAttributes?.langfuse ?? true,
        mlflow: options.vendorAttributes?.mlflow ?? true,
      },
    },
    getTracer,
    options.maxRecentCalls,
  );
}
