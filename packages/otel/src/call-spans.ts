/**
 * Telemetry as data: the call and attempt spans built from plain records, in batches, off the
 * request path. The hot path keeps only ids and the sampling decision (deferred-call-tracer.ts)
 * and pushes one small record per finished span; `toReadableSpans` turns a batch of records into
 * the SDK's ReadableSpan shape for the exporters (the counterpart of the OTLP transformer's batch
 * request builder). A pure function: no OpenTelemetry API state, no SDK Span objects.
 *
 * The attributes are the same as the live path's (call-tracer.ts), written by the same functions
 * (call-attributes.ts) in the same order; call-spans.test.ts checks that on the fixture events.
 */
import type { AttemptRecord, CallEvent, CallStartEvent } from "@llmux/callbacks";
import {
  type Attributes,
  type AttributeValue,
  type HrTime,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
} from "@opentelemetry/api";
import { hrTimeDuration, type InstrumentationScope, millisToHrTime } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { GEN_AI_OPERATION_NAME, GEN_AI_REQUEST_MODEL } from "./attributes";
import {
  attemptEndAttributes,
  attemptStartAttributes,
  callSpanName,
  operationName,
  type TraceLabels,
  type VendorKeys,
  writeContentAttributes,
  writeEndAttributes,
  writeStartAttributes,
} from "./call-attributes";

/** What the settings were when the call ended (one shared object while they do not change). */
export interface SpanSettings extends TraceLabels {
  readonly captureContent: boolean;
  readonly vendors: Readonly<VendorKeys>;
}

/** The attempt as the gateway announced it (CallTrace.startAttempt's argument). */
export interface AttemptStart {
  index: number;
  deploymentId: string;
  provider: string;
  model: string;
  apiBase?: string;
  fallback: boolean;
  startTime: number;
}

/** A finished call span: its ids, its parent, and the events it is made of (references, no copies). */
export interface CallSpanRecord {
  readonly type: "call";
  readonly spanContext: SpanContext;
  readonly parent: SpanContext | undefined;
  readonly start: CallStartEvent;
  readonly event: CallEvent;
  readonly settings: SpanSettings;
}

/** A finished attempt span (a child of its call span). */
export interface AttemptSpanRecord {
  readonly type: "attempt";
  readonly spanContext: SpanContext;
  readonly parent: SpanContext;
  readonly attempt: AttemptStart;
  readonly record: AttemptRecord;
  readonly settings: SpanSettings;
}

export type SpanRecord = CallSpanRecord | AttemptSpanRecord;

/** Span limits of the provider (the SDK's defaults: 128 attributes, values not truncated). */
export interface SpanRecordLimits {
  attributeCountLimit?: number;
  attributeValueLengthLimit?: number;
}

/** Where the spans come from: the provider's resource, llmux's instrumentation scope, its limits. */
export interface SpanBatchContext {
  resource: Resource;
  scope: InstrumentationScope;
  limits?: SpanRecordLimits;
}

/** Collects attributes as the SDK's Span.setAttribute does (count limit, value truncation). */
class AttributeCollector {
  readonly attributes: Attributes = {};
  dropped = 0;
  private count = 0;
  constructor(
    private readonly countLimit: number,
    private readonly lengthLimit: number,
  ) {}

  setAttribute(key: string, value: AttributeValue): this {
    if (value === undefined || value === null) return this;
    const attributes = this.attributes;
    if (!(key in attributes)) {
      if (this.count >= this.countLimit) {
        this.dropped++;
        return this;
      }
      this.count++;
    }
    attributes[key] =
      this.lengthLimit === Number.POSITIVE_INFINITY ? value : truncate(value, this.lengthLimit);
    return this;
  }

  setAll(values: Attributes): void {
    for (const key in values) {
      const value = values[key];
      if (value !== undefined) this.setAttribute(key, value);
    }
  }
}

function truncate(value: AttributeValue, limit: number): AttributeValue {
  if (typeof value === "string") return value.length > limit ? value.slice(0, limit) : value;
  if (Array.isArray(value))
    return value.map((item) =>
      typeof item === "string" && item.length > limit ? item.slice(0, limit) : item,
    ) as AttributeValue;
  return value;
}

const OK: SpanStatus = { code: SpanStatusCode.OK };
const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };

class RecordSpan implements ReadableSpan {
  readonly links = [];
  readonly events = [];
  readonly ended = true;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  readonly duration: HrTime;
  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startTime: HrTime,
    readonly endTime: HrTime,
    readonly status: SpanStatus,
    readonly attributes: Attributes,
    readonly droppedAttributesCount: number,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {
    this.duration = hrTimeDuration(startTime, endTime);
  }

  spanContext(): SpanContext {
    return this.context;
  }
}

/** Start and end as the SDK records them; an end before the start is clamped to the start. */
function times(startMs: number, endMs: number): [HrTime, HrTime] {
  const start = millisToHrTime(startMs);
  return [start, endMs >= startMs ? millisToHrTime(endMs) : start];
}

function callSpan(
  record: CallSpanRecord,
  batch: SpanBatchContext,
  collector: AttributeCollector,
): ReadableSpan {
  const { start, event, settings } = record;
  const operation = operationName(start);
  collector.setAttribute(GEN_AI_OPERATION_NAME, operation);
  collector.setAttribute(GEN_AI_REQUEST_MODEL, start.requestedModel);
  writeStartAttributes(start, settings, settings.vendors, collector);
  writeEndAttributes(event, settings.vendors, collector);
  if (settings.captureContent && !event.redacted) writeContentAttributes(event, settings.vendors, collector);
  const status: SpanStatus =
    event.status === "failure"
      ? { code: SpanStatusCode.ERROR, message: event.error?.message ?? "call failed" }
      : OK;
  const [startTime, endTime] = times(start.startTime, event.timings.endTime);
  return new RecordSpan(
    callSpanName(start),
    SpanKind.CLIENT,
    record.spanContext,
    record.parent,
    startTime,
    endTime,
    status,
    collector.attributes,
    collector.dropped,
    batch.resource,
    batch.scope,
  );
}

function attemptSpan(
  record: AttemptSpanRecord,
  batch: SpanBatchContext,
  collector: AttributeCollector,
): ReadableSpan {
  const { attempt, record: end } = record;
  collector.setAll(attemptStartAttributes(attempt, record.settings.vendors, record.settings));
  collector.setAll(attemptEndAttributes(end));
  const status: SpanStatus =
    end.outcome !== "success"
      ? { code: SpanStatusCode.ERROR, message: end.error?.message ?? end.outcome }
      : UNSET;
  const [startTime, endTime] = times(attempt.startTime, end.endTime);
  return new RecordSpan(
    `attempt ${attempt.deploymentId}`,
    SpanKind.INTERNAL,
    record.spanContext,
    record.parent,
    startTime,
    endTime,
    status,
    collector.attributes,
    collector.dropped,
    batch.resource,
    batch.scope,
  );
}

/**
 * The spans of a batch of records, in order. A record that cannot be converted (a malformed
 * event) is left out and counted in `failed`; the others still go.
 */
export function toReadableSpans(
  records: readonly SpanRecord[],
  batch: SpanBatchContext,
  failed: { count: number } = { count: 0 },
): ReadableSpan[] {
  const countLimit = batch.limits?.attributeCountLimit ?? 128;
  const lengthLimit = batch.limits?.attributeValueLengthLimit ?? Number.POSITIVE_INFINITY;
  const spans: ReadableSpan[] = [];
  for (const record of records) {
    try {
      const collector = new AttributeCollector(countLimit, lengthLimit);
      spans.push(
        record.type === "call" ? callSpan(record, batch, collector) : attemptSpan(record, batch, collector),
      );
    } catch {
      failed.count++;
    }
  }
  return spans;
}
