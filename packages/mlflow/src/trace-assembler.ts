/**
 * REST mode groups spans into one MLflow trace per llmux call before writing it: the trace info
 * (StartTraceV3) is written once, so the call span and its attempt spans must be together.
 * Attempt spans end (and are exported) before their call span, so a trace is complete when its
 * local root arrives: the llmux call span (attribute `llmux.call_id`, set by @llmux/otel), a span
 * without a parent, with a remote parent (W3C traceparent from the client), with buffered
 * children, or one the `isRootSpan` option picks. A group whose root does
 * not arrive within the assembly timeout is written as it is. Late spans of a written group are
 * dropped and counted.
 */
import { createHash } from "node:crypto";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { TraceGroup } from "./rest-trace";

interface Pending {
  spans: ReadableSpan[];
  timer?: ReturnType<typeof setTimeout>;
  since: number;
}

export interface TraceAssemblerOptions {
  timeoutMs: number;
  /** Spans held at most across pending groups; the oldest group goes out early (not dropped) past it. */
  maxPendingSpans: number;
  isRootSpan?: (span: ReadableSpan) => boolean;
  onGroup(group: TraceGroup): void;
  onLateSpan(span: ReadableSpan): void;
}

const MAX_REMEMBERED_SPANS = 20_000;
/** @llmux/otel's call span attribute (attributes.LLMUX_CALL_ID). */
const CALL_ID_ATTRIBUTE = "llmux.call_id";

export class TraceAssembler {
  private readonly pending = new Map<string, Pending>();
  /** Span ids of written groups (bounded, oldest forgotten first): late children are recognised. */
  private readonly written = new Set<string>();
  /** OTel trace ids already used as an MLflow trace id (a host trace may hold several llmux calls). */
  private readonly usedTraceIds = new Set<string>();
  private pendingSpans = 0;

  constructor(private readonly options: TraceAssemblerOptions) {}

  get size(): number {
    return this.pendingSpans;
  }

  add(span: ReadableSpan): void {
    const context = span.spanContext();
    const parentId = span.parentSpanContext?.spanId;
    if (parentId !== undefined && this.written.has(parentId)) {
      this.options.onLateSpan(span);
      return;
    }
    let group = this.pending.get(context.traceId);
    if (group === undefined) {
      group = { spans: [], since: Date.now() };
      this.pending.set(context.traceId, group);
    }
    group.spans.push(span);
    this.pendingSpans++;
    if (this.isRoot(span, group)) {
      this.complete(context.traceId, group, span);
    } else {
      this.arm(context.traceId, group);
    }
    while (this.pendingSpans > this.options.maxPendingSpans && this.pending.size > 0) {
      const [oldestId, oldest] = this.pending.entries().next().value as [string, Pending];
      this.release(oldestId, oldest);
    }
  }

  /** Writes every pending group as it is (shutdown). */
  releaseAll(): void {
    for (const [traceId, group] of [...this.pending]) this.release(traceId, group);
  }

  /** Stops the timers (after shutdown). */
  dispose(): void {
    for (const group of this.pending.values()) if (group.timer) clearTimeout(group.timer);
    this.pending.clear();
    this.pendingSpans = 0;
  }

  private isRoot(span: ReadableSpan, group: Pending): boolean {
    if (this.options.isRootSpan) {
      try {
        if (this.options.isRootSpan(span)) return true;
      } catch {
        // a broken predicate falls back to the default rule
      }
    }
    if (span.attributes[CALL_ID_ATTRIBUTE] !== undefined) return true;
    const parent = span.parentSpanContext;
    if (parent === undefined || parent.isRemote === true) return true;
    const spanId = span.spanContext().spanId;
    return group.spans.some((other) => other.parentSpanContext?.spanId === spanId);
  }

  private arm(traceId: string, group: Pending): void {
    if (group.timer) clearTimeout(group.timer);
    group.timer = setTimeout(() => this.release(traceId, group), this.options.timeoutMs);
    group.timer.unref?.();
  }

  /** Takes `root` and its descendants out of the pending group and hands them on. */
  private complete(traceId: string, group: Pending, root: ReadableSpan): void {
    const members = new Set<string>([root.spanContext().spanId]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const span of group.spans) {
        const id = span.spanContext().spanId;
        const parent = span.parentSpanContext?.spanId;
        if (!members.has(id) && parent !== undefined && members.has(parent)) {
          members.add(id);
          grew = true;
        }
      }
    }
    const spans = group.spans.filter((span) => members.has(span.spanContext().spanId));
    group.spans = group.spans.filter((span) => !members.has(span.spanContext().spanId));
    this.pendingSpans -= spans.length;
    if (group.spans.length === 0) {
      if (group.timer) clearTimeout(group.timer);
      this.pending.delete(traceId);
    }
    this.emit(traceId, root, spans, new Set([root.spanContext().spanId]));
  }

  /** Writes a group whose root never came: its top spans become roots. */
  private release(traceId: string, group: Pending): void {
    if (group.timer) clearTimeout(group.timer);
    this.pending.delete(traceId);
    this.pendingSpans -= group.spans.length;
    if (group.spans.length === 0) return;
    const ids = new Set(group.spans.map((span) => span.spanContext().spanId));
    const tops = group.spans.filter((span) => {
      const parent = span.parentSpanContext?.spanId;
      return parent === undefined || !ids.has(parent);
    });
    const root = [...tops].sort(
      (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
    )[0];
    if (root === undefined) return;
    this.emit(traceId, root, group.spans, new Set(tops.map((span) => span.spanContext().spanId)));
  }

  private emit(traceId: string, root: ReadableSpan, spans: ReadableSpan[], rootSpanIds: Set<string>): void {
    for (const span of spans) this.remember(span.spanContext().spanId);
    let mlflowTraceId: string;
    if (this.usedTraceIds.has(traceId)) {
      // a second llmux call inside the same host trace gets its own MLflow trace
      const derived = createHash("sha256")
        .update(`${traceId}:${root.spanContext().spanId}`)
        .digest("hex")
        .slice(0, 32);
      mlflowTraceId = `tr-${derived}`;
    } else {
      this.usedTraceIds.add(traceId);
      if (this.usedTraceIds.size > MAX_REMEMBERED_SPANS) {
        const oldest = this.usedTraceIds.values().next().value;
        if (oldest !== undefined) this.usedTraceIds.delete(oldest);
      }
      mlflowTraceId = `tr-${traceId}`;
    }
    this.options.onGroup({ mlflowTraceId, otelTraceId: traceId, rootSpanIds, root, spans });
  }

  private remember(spanId: string): void {
    this.written.add(spanId);
    if (this.written.size > MAX_REMEMBERED_SPANS) {
      const oldest = this.written.values().next().value;
      if (oldest !== undefined) this.written.delete(oldest);
    }
  }
}
