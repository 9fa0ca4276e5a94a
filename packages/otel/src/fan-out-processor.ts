/**
 * A span processor whose list of processors can grow and shrink after the provider is built.
 * SDK 2 providers take their span processors in the constructor only (there is no
 * addSpanProcessor any more), so llmux gives its provider this one processor and adds exporters
 * to it at run time. A failing child never affects the others or the caller.
 */
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";

export class FanOutSpanProcessor implements SpanProcessor {
  private processors: SpanProcessor[] = [];

  /** `decorate` sees every span as it starts, before the processors (llmux stamps trace labels). */
  constructor(private readonly decorate?: (span: Span) => void) {}

  add(processor: SpanProcessor): void {
    if (!this.processors.includes(processor)) this.processors = [...this.processors, processor];
  }

  remove(processor: SpanProcessor): void {
    this.processors = this.processors.filter((item) => item !== processor);
  }

  list(): readonly SpanProcessor[] {
    return this.processors;
  }

  onStart(span: Span, parentContext: Context): void {
    if (this.decorate) {
      try {
        this.decorate(span);
      } catch {
        // a label that cannot be set is not the span's failure
      }
    }
    for (const processor of this.processors) {
      try {
        processor.onStart(span, parentContext);
      } catch {
        // isolated: one processor's failure is not the span's
      }
    }
  }

  onEnd(span: ReadableSpan): void {
    for (const processor of this.processors) {
      try {
        processor.onEnd(span);
      } catch {
        // isolated
      }
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.allSettled(this.processors.map((processor) => processor.forceFlush()));
  }

  async shutdown(): Promise<void> {
    const processors = this.processors;
    this.processors = [];
    await Promise.allSettled(processors.map((processor) => processor.shutdown()));
  }
}
