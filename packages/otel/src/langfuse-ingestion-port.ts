/**
 * Test support (not exported): what Langfuse makes of the spans llmux exports, so tests check the
 * trace a Langfuse user sees rather than attribute names. A port, not a model of our own: the real
 * code needs Redis, S3, ClickHouse and Langfuse's monorepo, so it cannot run here. Ported
 * faithfully for the fields llmux relies on, from langfuse/langfuse:
 *
 * - packages/shared/src/server/otel/OtelIngestionProcessor.ts: `processSpan` (a trace-create event
 *   for a root span, for a span with trace updates, or for the first span of a trace not seen yet;
 *   then one observation event per span), `createTraceEvent` (root: name = langfuse.trace.name ??
 *   span name, input/output from the trace domain; trace update: name, input and output only from
 *   langfuse.trace.*; shallow: id, timestamp, environment), `hasTraceUpdates`, `extractEnvironment`
 *   (langfuse.environment, deployment.environment.name, deployment.environment; span, then
 *   resource; else "default"), release (span, then resource), `extractName`, `extractUserId`,
 *   `extractSessionId`, and `extractInputAndOutput` for the branches llmux's keys reach (Langfuse's
 *   own keys, MLflow's, then the OpenTelemetry GenAI messages, in that order).
 * - worker/src/services/IngestionService: a trace's events are sorted by their timestamp (the span's
 *   start), merged in that order with later values overwriting earlier ones except the immutable keys
 *   (id, timestamp, environment: the earliest event's environment stays), tags united, and input and
 *   output taken from the latest event that has them.
 */
import type { DecodedSpan, OtlpValue } from "@llmux/testing";

export interface LangfuseTrace {
  id: string;
  timestamp: string;
  environment: string;
  name?: string | null;
  release?: string | null;
  userId?: string;
  sessionId?: string;
  tags: string[];
  input?: unknown;
  output?: unknown;
}

export interface LangfuseObservation {
  id: string;
  traceId: string;
  parentObservationId: string | null;
  type: string;
  name: string;
  environment: string;
  input: unknown;
  output: unknown;
  model?: string;
}

interface TraceEvent {
  timestamp: string;
  body: LangfuseTrace;
}

type Attributes = Record<string, OtlpValue>;

const TRACE_UPDATE_KEYS = [
  "langfuse.trace.name",
  "langfuse.trace.input",
  "langfuse.trace.output",
  "langfuse.trace.metadata",
  "user.id",
  "session.id",
  "langfuse.trace.public",
  "langfuse.trace.tags",
  "langfuse.user.id",
  "langfuse.session.id",
];

function hasTraceUpdates(attributes: Attributes): boolean {
  return (
    TRACE_UPDATE_KEYS.some((key) => Boolean(attributes[key])) ||
    Object.keys(attributes).some((key) => key.startsWith("langfuse.trace.metadata"))
  );
}

function extractEnvironment(attributes: Attributes, resource: Attributes): string {
  for (const key of ["langfuse.environment", "deployment.environment.name", "deployment.environment"]) {
    if (attributes[key]) return String(attributes[key]);
    if (resource[key]) return String(resource[key]);
  }
  return "default";
}

function extractRelease(attributes: Attributes, resource: Attributes): string | null {
  const value = attributes["langfuse.release"] ?? resource["langfuse.release"] ?? null;
  return value === null ? null : String(value);
}

function extractName(spanName: string, attributes: Attributes): string {
  const tool = attributes["gen_ai.tool.name"];
  if (tool) return typeof tool === "string" ? tool : JSON.stringify(tool);
  return spanName;
}

function firstString(attributes: Attributes, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = attributes[key];
    if (value) return typeof value === "string" ? value : JSON.stringify(value);
  }
  return undefined;
}

function extractTags(attributes: Attributes): string[] {
  const value = attributes["langfuse.trace.tags"];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string") {
    try {
      const parsed = JSON.parse(value) as unknown;
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      return value.split(",").map((tag) => tag.trim());
    }
  }
  return [];
}

function extractInputAndOutput(
  attributes: Attributes,
  domain: "trace" | "observation",
): { input: unknown; output: unknown } {
  let input: unknown =
    domain === "trace" && attributes["langfuse.trace.input"]
      ? attributes["langfuse.trace.input"]
      : attributes["langfuse.observation.input"];
  let output: unknown =
    domain === "trace" && attributes["langfuse.trace.output"]
      ? attributes["langfuse.trace.output"]
      : attributes["langfuse.observation.output"];
  if (input != null || output != null) return { input, output };
  input = attributes["mlflow.spanInputs"];
  output = attributes["mlflow.spanOutputs"];
  if (input || output) return { input, output };
  input = attributes["gen_ai.input.messages"];
  output = attributes["gen_ai.output.messages"];
  if (input || output) return { input, output };
  return { input: null, output: null };
}

const isoTime = (milliseconds: number): string => new Date(milliseconds).toISOString();

/** Langfuse's traces and observations from the spans as exported, in the order they were received. */
export function ingestIntoLangfuse(spans: readonly DecodedSpan[]): {
  traces: Map<string, LangfuseTrace>;
  observations: LangfuseObservation[];
} {
  const seen = new Set<string>();
  const traceEvents = new Map<string, TraceEvent[]>();
  const observations: LangfuseObservation[] = [];
  for (const span of spans) {
    const attributes = span.attributes;
    const resource = span.resource;
    const parent = span.parentSpanId ?? null;
    const isRoot = !parent || String(attributes["langfuse.internal.as_root"]) === "true";
    const updates = hasTraceUpdates(attributes);
    const timestamp = isoTime(span.startTimeMs);
    if (isRoot || updates || !seen.has(span.traceId)) {
      let body: LangfuseTrace = {
        id: span.traceId,
        timestamp,
        environment: extractEnvironment(attributes, resource),
        tags: [],
      };
      if (isRoot) {
        const { input, output } = extractInputAndOutput(attributes, "trace");
        body = {
          ...body,
          name: attributes["langfuse.trace.name"]
            ? String(attributes["langfuse.trace.name"])
            : extractName(span.name, attributes),
          release: extractRelease(attributes, resource),
          userId: firstString(attributes, ["langfuse.user.id", "user.id"]),
          sessionId: firstString(attributes, ["langfuse.session.id", "session.id", "gen_ai.conversation.id"]),
          tags: extractTags(attributes),
          input,
          output,
        };
      }
      if (updates && !isRoot) {
        body = {
          ...body,
          name: attributes["langfuse.trace.name"] as string | undefined,
          release: extractRelease(attributes, resource),
          userId: firstString(attributes, ["langfuse.user.id", "user.id"]),
          sessionId: firstString(attributes, ["langfuse.session.id", "session.id", "gen_ai.conversation.id"]),
          tags: extractTags(attributes),
          input: attributes["langfuse.trace.input"],
          output: attributes["langfuse.trace.output"],
        };
      }
      const events = traceEvents.get(span.traceId) ?? [];
      events.push({ timestamp, body });
      traceEvents.set(span.traceId, events);
      seen.add(span.traceId);
    }
    const { input, output } = extractInputAndOutput(attributes, "observation");
    observations.push({
      id: span.spanId,
      traceId: span.traceId,
      parentObservationId: parent,
      type: String(attributes["langfuse.observation.type"] ?? "span"),
      name: extractName(span.name, attributes),
      environment: extractEnvironment(attributes, resource),
      input,
      output,
      model: firstString(attributes, [
        "langfuse.observation.model.name",
        "gen_ai.response.model",
        "gen_ai.request.model",
      ]),
    });
  }
  const traces = new Map<string, LangfuseTrace>();
  for (const [id, events] of traceEvents) traces.set(id, mergeTraceEvents(events));
  return { traces, observations };
}

const IMMUTABLE_TRACE_KEYS = new Set(["id", "timestamp", "environment"]);

/** IngestionService.processTraceEventList: time-sorted, later values win except immutable keys. */
function mergeTraceEvents(events: TraceEvent[]): LangfuseTrace {
  const sorted = events.slice().sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  const merged: Record<string, unknown> = {};
  for (const { body } of sorted) {
    for (const [key, value] of Object.entries(body)) {
      if (value === undefined) continue;
      if (key === "tags") {
        merged.tags = [...new Set([...((merged.tags as string[]) ?? []), ...(value as string[])])];
        continue;
      }
      if (IMMUTABLE_TRACE_KEYS.has(key) && merged[key] !== undefined) continue;
      merged[key] = value;
    }
  }
  const reversed = sorted.slice().reverse();
  merged.input = reversed.find((event) => event.body.input)?.body.input ?? null;
  merged.output = reversed.find((event) => event.body.output)?.body.output ?? null;
  return merged as unknown as LangfuseTrace;
}
