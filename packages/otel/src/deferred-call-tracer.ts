/**
 * The call tracer of llmux's own pipeline (the shared provider whose only span processor is
 * llmux's fan-out to its exporters): telemetry as data. On the request path it keeps only what
 * cannot be recovered later: the parent's ids, the sampling decision (the provider's own
 * sampler, as startSpan would ask it) and fresh span ids for the call and its attempts (needed
 * for traceparent upstream and for lookupCall). When a span ends it pushes one small record into
 * a bounded queue (counted drops); a setImmediate drain turns the batch into ReadableSpans
 * (call-spans.ts) and hands them to the exporters' bounded batch processors. No SDK Span, no
 * attribute is written on the request's tick; llmux's OTLP encoder writes a span's attributes
 * straight from its record into the export request, without an attributes object.
 *
 * The live-span path (call-tracer.ts) stays for tracers over the host's TracerProvider, whose
 * processors expect live onStart/onEnd; and is used here too when the provider's tracer is not
 * the SDK's (no sampler or id generator to ask).
 */
import type { AttemptRecord, AttemptTrace, CallEvent, CallStartEvent, CallTrace } from "@llmux/callbacks";
import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  SamplingDecision,
  type SpanContext,
  SpanKind,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { isTracingSuppressed, W3CTraceContextPropagator } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { GEN_AI_OPERATION_NAME, GEN_AI_REQUEST_MODEL } from "./attributes";
import { callSpanName, operationName } from "./call-attributes";
import {
  type AttemptStart,
  encodeRecordSpans,
  type SpanBatchContext,
  type SpanRecord,
  type SpanSettings,
  toReadableSpans,
} from "./call-spans";
import { buildCallTracer, type CallTracerSettings, RecentCalls } from "./call-tracer";
import type { CallTracerStats, LlmuxCallTracer, RecordedCall } from "./types";

const propagator = new W3CTraceContextPropagator();

/** The SDK Tracer's internals this path needs (SDK 2.x `Tracer`: private but stable fields). */
interface SdkTracerInternals {
  _sampler?: {
    shouldSample(
      context: Context,
      traceId: string,
      spanName: string,
      spanKind: SpanKind,
      attributes: Attributes,
      links: unknown[],
    ): { decision: SamplingDecision; traceState?: SpanContext["traceState"] };
  };
  _idGenerator?: { generateTraceId(): string; generateSpanId(): string };
  _spanLimits?: { attributeCountLimit?: number; attributeValueLengthLimit?: number };
  _resource?: SpanBatchContext["resource"];
  instrumentationScope?: SpanBatchContext["scope"];
}

/** A tracer's sampler, id generator and batch context, read once per tracer object. */
interface Pipeline {
  tracer: Tracer;
  sampler: NonNullable<SdkTracerInternals["_sampler"]>;
  ids: NonNullable<SdkTracerInternals["_idGenerator"]>;
  batch: SpanBatchContext;
}

function pipelineOf(tracer: Tracer): Pipeline | undefined {
  const internals = tracer as Tracer & SdkTracerInternals;
  const {
    _sampler: sampler,
    _idGenerator: ids,
    _resource: resource,
    instrumentationScope: scope,
  } = internals;
  if (!sampler || !ids || !resource || !scope) return undefined;
  return { tracer, sampler, ids, batch: { resource, scope, limits: internals._spanLimits } };
}

export interface DeferredTracerOptions {
  /** The provider's tracer (followed: the shared provider may be replaced by setupTracing). */
  getTracer: () => Tracer;
  /** Where finished spans go: the fan-out over the exporters' bounded batch processors. */
  onEnd: (span: ReadableSpan) => void;
  /** false while nothing would receive the spans (no exporter): records are not even queued. */
  hasConsumers?: () => boolean;
  /**
   * true while every receiver is one of llmux's OTLP/protobuf exporters: the drain then encodes
   * each span's protobuf at once and lets its record go (the call's events are not kept alive
   * until the export, where they would survive scavenges and be copied and promoted).
   */
  encodeAtDrain?: () => boolean;
  /** Records waiting for the drain before new ones are dropped (default 4096). */
  maxQueueSize?: number;
  maxRecentCalls?: number;
}

export interface DeferredCallTracer extends LlmuxCallTracer {
  readonly settings: CallTracerSettings;
  /** Converts and hands over every queued record now (flush and shutdown call it first). */
  drain(): void;
  /** Records dropped because the queue was full. */
  dropped(): number;
}

interface TracerState {
  readonly settings: CallTracerSettings;
  snapshot: SpanSettings | undefined;
  readonly queue: SpanRecord[];
  readonly maxQueueSize: number;
  readonly recent: RecentCalls;
  readonly counts: CallTracerStats;
  droppedRecords: number;
  scheduled: boolean;
  push(record: SpanRecord): void;
}

/** The settings as a record keeps them: one shared object until a setting changes. */
function currentSettings(state: TracerState): SpanSettings {
  const { settings, snapshot } = state;
  if (
    snapshot &&
    snapshot.captureContent === settings.captureContent &&
    snapshot.environment === settings.environment &&
    snapshot.release === settings.release &&
    snapshot.vendors.langfuse === settings.vendors.langfuse &&
    snapshot.vendors.mlflow === settings.vendors.mlflow
  )
    return snapshot;
  const fresh: SpanSettings = {
    captureContent: settings.captureContent,
    environment: settings.environment,
    release: settings.release,
    vendors: { langfuse: settings.vendors.langfuse, mlflow: settings.vendors.mlflow },
  };
  state.snapshot = fresh;
  return fresh;
}

const NOOP_ATTEMPT: AttemptTrace = { end() {} };

class RecordAttemptTrace implements AttemptTrace {
  private ended = false;
  constructor(
    private readonly state: TracerState,
    private readonly spanContext: SpanContext,
    private readonly parent: SpanContext,
    private readonly attempt: AttemptStart,
  ) {}

  end(record: AttemptRecord): void {
    if (this.ended) return;
    this.ended = true;
    const state = this.state;
    state.push({
      type: "attempt",
      spanContext: this.spanContext,
      parent: this.parent,
      attempt: this.attempt,
      record,
      settings: currentSettings(state),
    });
  }
}

/** A sampled call: ids now, one record at the end. */
class RecordCallTrace implements CallTrace {
  readonly traceId: string;
  readonly spanId: string;
  private ended = false;
  constructor(
    private readonly state: TracerState,
    private readonly pipeline: Pipeline,
    private readonly spanContext: SpanContext,
    private readonly parent: SpanContext | undefined,
    private readonly start: CallStartEvent,
  ) {
    this.traceId = spanContext.traceId;
    this.spanId = spanContext.spanId;
  }

  startAttempt(attempt: AttemptStart): AttemptTrace {
    try {
      const spanContext: SpanContext = {
        traceId: this.traceId,
        spanId: this.pipeline.ids.generateSpanId(),
        traceFlags: this.spanContext.traceFlags,
        traceState: this.spanContext.traceState,
      };
      return new RecordAttemptTrace(this.state, spanContext, this.spanContext, attempt);
    } catch {
      this.state.counts.errors++;
      return NOOP_ATTEMPT;
    }
  }

  end(event: CallEvent): void {
    if (this.ended) return;
    this.ended = true;
    const state = this.state;
    state.push({
      type: "call",
      spanContext: this.spanContext,
      parent: this.parent,
      start: this.start,
      event,
      settings: currentSettings(state),
    });
    // the span context has the ids (no object of its own per call)
    state.recent.set(event.callId, this.spanContext);
    state.counts.ended++;
  }
}

/** A call the sampler dropped (or tracing is suppressed): ids for propagation, nothing recorded. */
class UnsampledCallTrace implements CallTrace {
  private ended = false;
  constructor(
    private readonly state: TracerState,
    readonly traceId: string,
    readonly spanId: string,
  ) {}
  startAttempt(): AttemptTrace {
    return NOOP_ATTEMPT;
  }
  end(event: CallEvent): void {
    if (this.ended) return;
    this.ended = true;
    this.state.recent.set(event.callId, { traceId: this.traceId, spanId: this.spanId });
    this.state.counts.ended++;
  }
}

const INVALID_TRACE: CallTrace = {
  traceId: "00000000000000000000000000000000",
  spanId: "0000000000000000",
  startAttempt: () => NOOP_ATTEMPT,
  end() {},
};

function parentContext(carrier: { traceparent?: string; tracestate?: string } | undefined): Context {
  const active = context.active();
  if (trace.getSpan(active) !== undefined || !carrier?.traceparent) return active;
  return propagator.extract(active, carrier, defaultTextMapGetter);
}

export function buildDeferredCallTracer(
  settings: CallTracerSettings,
  options: DeferredTracerOptions,
): DeferredCallTracer {
  const failed = { count: 0 };
  const hasConsumers = options.hasConsumers;
  let pipeline: Pipeline | undefined;
  const currentPipeline = (): Pipeline | undefined => {
    const tracer = options.getTracer();
    if (pipeline?.tracer !== tracer) pipeline = pipelineOf(tracer);
    return pipeline;
  };
  // a provider whose tracer is not the SDK's: live spans through it, as for a host's provider
  const live = buildCallTracer(settings, options.getTracer, options.maxRecentCalls);

  // a record that fails when an exporter has its attributes written (after this drain)
  const countLateError = (): void => {
    state.counts.errors++;
  };
  const drain = (): void => {
    state.scheduled = false;
    const queue = state.queue;
    if (queue.length === 0) return;
    const records = queue.splice(0, queue.length);
    const batch = currentPipeline()?.batch;
    if (!batch) return;
    const before = failed.count;
    const spans = toReadableSpans(records, batch, failed, countLateError);
    records.length = 0;
    if (options.encodeAtDrain?.()) {
      try {
        encodeRecordSpans(spans);
      } catch {
        // not encoded now: each span keeps its record and is encoded at the export
        state.counts.errors++;
      }
    }
    for (const span of spans) {
      try {
        options.onEnd(span);
      } catch {
        state.counts.errors++;
      }
    }
    state.counts.errors += failed.count - before;
  };

  const state: TracerState = {
    settings,
    snapshot: undefined,
    queue: [],
    maxQueueSize: Math.max(1, options.maxQueueSize ?? 4096),
    recent: new RecentCalls(options.maxRecentCalls ?? 10_000),
    counts: { started: 0, ended: 0, errors: 0 },
    droppedRecords: 0,
    scheduled: false,
    push(record) {
      if (hasConsumers && !hasConsumers()) return;
      if (this.queue.length >= this.maxQueueSize) {
        this.droppedRecords++;
        return;
      }
      this.queue.push(record);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(drain);
      }
    },
  };

  return {
    settings,
    startCall(event: CallStartEvent, carrier: { traceparent?: string; tracestate?: string }): CallTrace {
      const sdk = currentPipeline();
      if (!sdk) return live.startCall(event, carrier);
      try {
        const parent = parentContext(carrier);
        if (isTracingSuppressed(parent)) return INVALID_TRACE;
        const parentSpan = trace.getSpanContext(parent);
        const validParent = parentSpan && trace.isSpanContextValid(parentSpan) ? parentSpan : undefined;
        const traceId = validParent ? validParent.traceId : sdk.ids.generateTraceId();
        const spanId = sdk.ids.generateSpanId();
        const operation = operationName(event);
        // the sampler sees what startSpan would give it: the operation and the model
        const sampling = sdk.sampler.shouldSample(
          parent,
          traceId,
          callSpanName(event),
          SpanKind.CLIENT,
          { [GEN_AI_OPERATION_NAME]: operation, [GEN_AI_REQUEST_MODEL]: event.requestedModel },
          [],
        );
        state.counts.started++;
        if (sampling.decision !== SamplingDecision.RECORD_AND_SAMPLED) {
          // not recorded (or recorded but not sampled: no exporter would take it)
          return new UnsampledCallTrace(state, traceId, spanId);
        }
        const spanContext: SpanContext = {
          traceId,
          spanId,
          traceFlags: TraceFlags.SAMPLED,
          traceState: sampling.traceState ?? validParent?.traceState,
        };
        return new RecordCallTrace(state, sdk, spanContext, validParent, event);
      } catch {
        state.counts.errors++;
        return INVALID_TRACE;
      }
    },
    lookupCall(callId: string): RecordedCall | undefined {
      return state.recent.get(callId) ?? live.lookupCall(callId);
    },
    stats(): CallTracerStats {
      const own = state.counts;
      const other = live.stats();
      return {
        started: own.started + other.started,
        ended: own.ended + other.ended,
        errors: own.errors + other.errors,
      };
    },
    drain,
    dropped: () => state.droppedRecords,
  };
}
