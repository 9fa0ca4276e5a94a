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
import * as A from "./attributes";
import {
  type AttributeTarget,
  callSpanName,
  operationName,
  providerName,
  serverOf,
  type TraceLabels,
  type VendorKeys,
  writeContentAttributes,
  writeEndAttributes,
  writeStartAttributes,
} from "./call-attributes";
import {
  type DirectAttributeSpan,
  type EpochMillisSpan,
  encodeSpanMessages,
  type PreEncodedSpan,
  truncateAttribute,
} from "./otlp-trace-encoder";

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
      this.lengthLimit === Number.POSITIVE_INFINITY ? value : truncateAttribute(value, this.lengthLimit);
    return this;
  }
}

const OK: SpanStatus = { code: SpanStatusCode.OK };
const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };

/**
 * A finished span made from a record. Its attributes are written from the record when first
 * needed: llmux's OTLP encoder writes them straight into the request (no attributes object, see
 * otlp-trace-encoder.ts's DirectAttributeSpan); any other reader of `attributes` (the JSON
 * serializer, MLflow's exporter, a host's exporter) gets the object, built once.
 */
class RecordSpan implements ReadableSpan, DirectAttributeSpan, PreEncodedSpan, EpochMillisSpan {
  encodedSpan: string | undefined;
  private collected: AttributeCollector | undefined;
  /**
   * Start and end in epoch ms (the end clamped to the start); the HrTime arrays are made when
   * read, so a span waiting for its export holds no array of its own (and llmux's encoder, which
   * reads the milliseconds, makes none).
   */
  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startEpochMillis: number,
    readonly endEpochMillis: number,
    readonly status: SpanStatus,
    private record: SpanRecord | undefined,
    private readonly limits: SpanLimits,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {}

  get links(): ReadableSpan["links"] {
    return [];
  }

  get events(): ReadableSpan["events"] {
    return [];
  }

  get ended(): boolean {
    return true;
  }

  get droppedEventsCount(): number {
    return 0;
  }

  get droppedLinksCount(): number {
    return 0;
  }

  get startTime(): HrTime {
    return millisToHrTime(this.startEpochMillis);
  }

  get endTime(): HrTime {
    return millisToHrTime(this.endEpochMillis);
  }

  get duration(): HrTime {
    return hrTimeDuration(this.startTime, this.endTime);
  }

  spanContext(): SpanContext {
    return this.context;
  }

  get attributes(): Attributes {
    return this.collect().attributes;
  }

  get droppedAttributesCount(): number {
    return this.collect().dropped;
  }

  get attributesBuilt(): boolean {
    return this.collected !== undefined;
  }

  get attributeCountLimit(): number {
    return this.limits.countLimit;
  }

  get attributeValueLengthLimit(): number {
    return this.limits.lengthLimit;
  }

  /**
   * Only a call with a team whose metadata is written as `langfuse.trace.metadata.*` can set a
   * key twice (metadata `team` and the call's team); every other key is set once.
   */
  get mayRepeatKeys(): boolean {
    const record = this.record;
    if (
      record === undefined ||
      record.type !== "call" ||
      !record.settings.vendors.langfuse ||
      !record.start.team
    )
      return false;
    const metadata = record.start.metadata;
    if (!metadata) return false;
    for (const _ in metadata) return true;
    return false;
  }

  writeAttributesTo(out: AttributeTarget): void {
    const record = this.record;
    if (record === undefined) return;
    if (record.type === "call") writeCallAttributes(record, out);
    else writeAttemptAttributes(record, out);
  }

  /**
   * Keeps the span's OTLP encoding instead of its record: the record's events can be collected
   * now instead of living until the export. Only for spans that nothing but llmux's protobuf
   * encoder reads: `attributes` is empty from then on (unless it was read before).
   */
  keepEncoded(encoded: string): void {
    this.encodedSpan = encoded;
    this.record = undefined;
  }

  private collect(): AttributeCollector {
    let collected = this.collected;
    if (collected === undefined) {
      const limits = this.limits;
      collected = new AttributeCollector(limits.countLimit, limits.lengthLimit);
      try {
        this.writeAttributesTo(collected);
      } catch {
        // the attributes written before the failure stay; the failure is counted
        limits.onError();
      }
      this.collected = collected;
    }
    return collected;
  }
}

/** The end as the SDK records it: an end before the start is clamped to the start. */
function clampedEnd(startMs: number, endMs: number): number {
  if (endMs >= startMs) return endMs;
  // an end before the start, or none (NaN, undefined): the start
  return startMs;
}

/** The call span's attributes, in the live path's order (call-tracer.ts). */
function writeCallAttributes(record: CallSpanRecord, out: AttributeTarget): void {
  const { start, event, settings } = record;
  out.setAttribute(A.GEN_AI_OPERATION_NAME, operationName(start));
  out.setAttribute(A.GEN_AI_REQUEST_MODEL, start.requestedModel);
  writeStartAttributes(start, settings, settings.vendors, out);
  writeEndAttributes(event, settings.vendors, out);
  if (settings.captureContent && !event.redacted) writeContentAttributes(event, settings.vendors, out);
}

/**
 * The attempt span's attributes: what the attempt started with, then how it ended, in the order
 * the live path's span holds them (attemptStartAttributes, then attemptEndAttributes set over
 * them): a key in both (the upstream's address, known again at the end) keeps its first position
 * and takes the end's value. Written one by one, without the two objects.
 */
function writeAttemptAttributes(record: AttemptSpanRecord, out: AttributeTarget): void {
  const { attempt, record: end, settings } = record;
  const vendors = settings.vendors;
  out.setAttribute(A.GEN_AI_PROVIDER_NAME, providerName(attempt.provider));
  out.setAttribute(A.GEN_AI_REQUEST_MODEL, attempt.model);
  out.setAttribute(A.LLMUX_DEPLOYMENT_ID, attempt.deploymentId);
  out.setAttribute(A.LLMUX_ATTEMPT_INDEX, attempt.index);
  out.setAttribute(A.LLMUX_ATTEMPT_FALLBACK, attempt.fallback);
  if (vendors.langfuse) {
    out.setAttribute(A.LANGFUSE_OBSERVATION_TYPE, A.LANGFUSE_TYPE_SPAN);
    if (settings.environment) out.setAttribute(A.LANGFUSE_ENVIRONMENT, settings.environment);
    if (settings.release) out.setAttribute(A.LANGFUSE_RELEASE, settings.release);
  }
  if (vendors.mlflow) out.setAttribute(A.MLFLOW_SPAN_TYPE, A.MLFLOW_TYPE_UNKNOWN);
  const startServer = serverOf(attempt.apiBase);
  const endServer = serverOf(end.apiBase);
  const server = endServer ?? startServer;
  if (startServer && server) {
    out.setAttribute(A.SERVER_ADDRESS, server.address);
    out.setAttribute(A.SERVER_PORT, server.port);
  }
  out.setAttribute(A.LLMUX_ATTEMPT_OUTCOME, end.outcome);
  if (end.error) {
    out.setAttribute(A.ERROR_TYPE, end.error.type);
    if (end.error.upstreamStatus !== undefined)
      out.setAttribute(A.LLMUX_ATTEMPT_UPSTREAM_STATUS, end.error.upstreamStatus);
  } else if (end.outcome === "aborted") {
    out.setAttribute(A.ERROR_TYPE, "aborted");
  }
  if (!startServer && endServer) {
    out.setAttribute(A.SERVER_ADDRESS, endServer.address);
    out.setAttribute(A.SERVER_PORT, endServer.port);
  }
}

interface SpanLimits {
  countLimit: number;
  lengthLimit: number;
  onError: () => void;
}

function callSpan(record: CallSpanRecord, batch: SpanBatchContext, limits: SpanLimits): ReadableSpan {
  const { start, event } = record;
  const status: SpanStatus =
    event.status === "failure"
      ? { code: SpanStatusCode.ERROR, message: event.error?.message ?? "call failed" }
      : OK;
  const startTime = start.startTime;
  const endTime = clampedEnd(startTime, event.timings.endTime);
  return new RecordSpan(
    callSpanName(start),
    SpanKind.CLIENT,
    record.spanContext,
    record.parent,
    startTime,
    endTime,
    status,
    record,
    limits,
    batch.resource,
    batch.scope,
  );
}

function attemptSpan(record: AttemptSpanRecord, batch: SpanBatchContext, limits: SpanLimits): ReadableSpan {
  const { attempt, record: end } = record;
  const status: SpanStatus =
    end.outcome !== "success"
      ? { code: SpanStatusCode.ERROR, message: end.error?.message ?? end.outcome }
      : UNSET;
  const startTime = attempt.startTime;
  const endTime = clampedEnd(startTime, end.endTime);
  return new RecordSpan(
    `attempt ${attempt.deploymentId}`,
    SpanKind.INTERNAL,
    record.spanContext,
    record.parent,
    startTime,
    endTime,
    status,
    record,
    limits,
    batch.resource,
    batch.scope,
  );
}

/**
 * The spans of a batch of records, in order. A record that cannot be converted (a malformed
 * event) is left out and counted in `failed`; the others still go. A span's attributes are
 * written from its record later, when an exporter needs them; a record that fails then is
 * counted by `onLateError` (default: in `failed` too).
 */
export function toReadableSpans(
  records: readonly SpanRecord[],
  batch: SpanBatchContext,
  failed: { count: number } = { count: 0 },
  onLateError: () => void = () => {
    failed.count++;
  },
): ReadableSpan[] {
  const limits: SpanLimits = {
    countLimit: batch.limits?.attributeCountLimit ?? 128,
    lengthLimit: batch.limits?.attributeValueLengthLimit ?? Number.POSITIVE_INFINITY,
    onError: onLateError,
  };
  const spans: ReadableSpan[] = [];
  for (const record of records) {
    try {
      spans.push(
        record.type === "call" ? callSpan(record, batch, limits) : attemptSpan(record, batch, limits),
      );
    } catch {
      failed.count++;
    }
  }
  return spans;
}

/**
 * Encodes the spans made by toReadableSpans as OTLP `Span` messages now and lets their records go
 * (see RecordSpan.keepEncoded): for a batch whose only readers are llmux's OTLP/protobuf
 * exporters. Spans of any other kind are left as they are.
 */
export function encodeRecordSpans(spans: readonly ReadableSpan[]): void {
  const own = spans.filter((span): span is RecordSpan => span instanceof RecordSpan);
  if (own.length === 0) return;
  const messages = encodeSpanMessages(own);
  for (let index = 0; index < own.length; index++) {
    (own[index] as RecordSpan).keepEncoded(messages[index] as string);
  }
}
