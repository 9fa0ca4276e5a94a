/**
 * Test-only spans shaped like @llmux/otel's: a `chat {model}` CLIENT call span with the MLflow and
 * GenAI attributes, and one child span per upstream attempt, made with a real BasicTracerProvider
 * and captured by an InMemorySpanExporter.
 */
import { context, type SpanContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
const tracer = provider.getTracer("llmux-test");

export interface CallSpansOptions {
  model?: string;
  attempts?: number;
  failed?: boolean;
  /** The host's span the call nests under (local, not remote). */
  hostParent?: boolean;
  user?: string;
  /** Set llmux.call_id on the call span, as @llmux/otel does. Default true. */
  withCallId?: boolean;
}

let calls = 0;

/** Returns [attempt spans..., call span] in the order they end (and a BatchSpanProcessor exports them). */
export function makeCallSpans(options: CallSpansOptions = {}): ReadableSpan[] {
  memory.reset();
  const model = options.model ?? "gpt-4o";
  let parentContext = context.active();
  let host: ReturnType<typeof tracer.startSpan> | undefined;
  if (options.hostParent) {
    host = tracer.startSpan("POST /v1/chat/completions", { kind: SpanKind.SERVER });
    parentContext = trace.setSpan(parentContext, host);
  }
  const call = tracer.startSpan(
    `chat ${model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "mlflow.spanType": "LLM",
        "mlflow.spanInputs": JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
        "mlflow.spanOutputs": JSON.stringify({
          choices: [{ message: { role: "assistant", content: "hello" } }],
        }),
        "mlflow.chat.tokenUsage": JSON.stringify({ input_tokens: 3, output_tokens: 2, total_tokens: 5 }),
        "mlflow.llm.cost": JSON.stringify({ input_cost: 0.1, output_cost: 0.2, total_cost: 0.3 }),
        "gen_ai.usage.input_tokens": 3,
        ...(options.withCallId === false ? {} : { "llmux.call_id": `call-${++calls}` }),
        ...(options.user ? { "user.id": options.user } : {}),
      },
    },
    parentContext,
  );
  const callContext = trace.setSpan(parentContext, call);
  for (let index = 0; index < (options.attempts ?? 1); index++) {
    const attempt = tracer.startSpan(
      `chat ${model}`,
      { kind: SpanKind.CLIENT, attributes: { "gen_ai.request.model": model, "llmux.attempt.index": index } },
      callContext,
    );
    attempt.end();
  }
  if (options.failed) call.setStatus({ code: SpanStatusCode.ERROR, message: "upstream failed" });
  call.end();
  host?.end();
  const spans = memory
    .getFinishedSpans()
    .filter((span) => span !== undefined && span.name !== "POST /v1/chat/completions");
  memory.reset();
  return [...spans];
}

/** A span whose parent came in a W3C traceparent header (remote). */
export function makeRemoteChildSpan(parent: SpanContext): ReadableSpan {
  memory.reset();
  const span = tracer.startSpan(
    "chat gpt-4o",
    { kind: SpanKind.CLIENT, attributes: { "mlflow.spanType": "LLM" } },
    trace.setSpanContext(context.active(), { ...parent, isRemote: true }),
  );
  span.end();
  const [finished] = memory.getFinishedSpans();
  memory.reset();
  if (!finished) throw new Error("no span");
  return finished;
}
