/**
 * MLflow completes a trace (state, request/response previews, duration) from its root span: the
 * span with no parent. The llmux call span usually has a parent MLflow never receives: the host's
 * HTTP span (recorded by the host's own SDK, not by llmux's provider) or a remote parent from the
 * client's `traceparent`. Such a span is sent to MLflow as a root; its real parent id is kept in
 * the attribute `llmux.parent_span_id`, and the OTel trace id is unchanged (so the trace still
 * correlates with other backends). When the host's own spans flow through llmux's provider too
 * (setupTracing() with instrumentations), a call span keeps its local parent, which MLflow does
 * receive; spans with a remote parent are always promoted.
 */
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

const CALL_ID_ATTRIBUTE = "llmux.call_id";
const ATTEMPT_INDEX_ATTRIBUTE = "llmux.attempt.index";
const LLMUX_SCOPE = "@llmux/otel";
export const PARENT_SPAN_ID_ATTRIBUTE = "llmux.parent_span_id";

function isLlmuxSpan(span: ReadableSpan): boolean {
  return (
    span.attributes[CALL_ID_ATTRIBUTE] !== undefined ||
    span.attributes[ATTEMPT_INDEX_ATTRIBUTE] !== undefined ||
    span.instrumentationScope?.name === LLMUX_SCOPE
  );
}

/** The span, seen without its parent (everything else read through to the original). */
function detach(span: ReadableSpan, parentSpanId: string): ReadableSpan {
  return Object.create(span, {
    parentSpanContext: { value: undefined, enumerable: true },
    attributes: { value: { ...span.attributes, [PARENT_SPAN_ID_ATTRIBUTE]: parentSpanId }, enumerable: true },
  }) as ReadableSpan;
}

export class RootPromoter {
  private hostSpansSeen = false;

  constructor(private readonly enabled: boolean) {}

  prepare(spans: ReadableSpan[]): ReadableSpan[] {
    if (!this.enabled) return spans;
    if (!this.hostSpansSeen && spans.some((span) => !isLlmuxSpan(span))) this.hostSpansSeen = true;
    return spans.map((span) => {
      const parent = span.parentSpanContext;
      if (parent === undefined) return span;
      const promote =
        parent.isRemote === true || (!this.hostSpansSeen && span.attributes[CALL_ID_ATTRIBUTE] !== undefined);
      return promote ? detach(span, parent.spanId) : span;
    });
  }
}
