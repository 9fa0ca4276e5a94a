/**
 * MLflow's REST trace API, for tracking servers without the OTLP endpoint (MLflow 3.0–3.5), done
 * the way the MLflow Python and TypeScript clients do it:
 *   1. POST /api/3.0/mlflow/traces (StartTraceV3) with the trace info; the answer's tag
 *      `mlflow.artifactLocation` says where the span data goes;
 *   2. the spans as `traces.json` to that location: through the tracking server's artifact proxy
 *      (PUT /api/2.0/mlflow-artifacts/artifacts/<path>/traces.json) for `mlflow-artifacts:` locations,
 *      straight to S3 (SigV4, service "s3") for `s3://` ones (SageMaker), or PUT to an http(s) location.
 * Span attributes are written JSON-encoded, as MLflow's own SDK stores them.
 */
import { randomBytes } from "node:crypto";
import type { HrTime } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createMlflowError } from "./errors";
import { httpError, type MlflowHttpClient, parseJson } from "./http-client";

/** Spans of one llmux call: its local root span and what descends from it. */
export interface TraceGroup {
  /** MLflow trace id ("tr-" + 32 hex). */
  mlflowTraceId: string;
  /** OTel trace id (32 hex). */
  otelTraceId: string;
  /** Span ids (hex) written with an empty parent (the local roots). */
  rootSpanIds: Set<string>;
  /** The main root: name, timing, status and previews of the trace come from it. */
  root: ReadableSpan;
  spans: ReadableSpan[];
}

export interface SerializedTraceInfo {
  trace_id: string;
  client_request_id?: string;
  trace_location: { type: "MLFLOW_EXPERIMENT"; mlflow_experiment: { experiment_id: string } };
  request_time: string;
  execution_duration: string;
  state: "OK" | "ERROR";
  request_preview?: string;
  response_preview?: string;
  trace_metadata: Record<string, string>;
  tags: Record<string, string>;
}

const PREVIEW_MAX_CHARS = 1000;
/** Attributes @llmux/otel already stores as JSON text (kept as they are; every other value is JSON-encoded). */
const JSON_VALUED_ATTRIBUTES = new Set([
  "mlflow.spanInputs",
  "mlflow.spanOutputs",
  "mlflow.chat.tokenUsage",
  "mlflow.llm.cost",
  "mlflow.chat.tools",
]);
const CALL_ID_ATTRIBUTES = ["llmux.call.id", "llmux.call_id", "llmux.callId"];

export function hrTimeToNanos(time: HrTime): bigint {
  return BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
}

function hrTimeToMillis(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

function truncate(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

function stringAttribute(span: ReadableSpan, key: string): string | undefined {
  const value = span.attributes[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function isJsonText(value: string): boolean {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

/** MLflow's limits for trace tags (mlflow/tracing/constant.py MAX_CHARS_IN_TRACE_INFO_TAGS_*). */
const TAG_KEY_MAX_CHARS = 250;
const TAG_VALUE_MAX_CHARS = 4096;
/** Tag keys MLflow accepts (alphanumerics, underscores, dashes, periods, spaces, slashes). */
const VALID_TAG_KEY = /^[\w\-. /]+$/;
const TRACE_NAME_ATTRIBUTES = ["llmux.trace_name"];

function stringArrayAttribute(span: ReadableSpan, key: string): string[] {
  const value = span.attributes[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/**
 * The trace's tags: its name (`mlflow.traceName`: the request's `trace_name`, else the call span's
 * name), the OTel trace id, and the request's tags as LiteLLM's MLflow callback sets them (one tag
 * per request tag, empty value), plus `llmux.tags` (all of them, comma-separated) for LIKE searches.
 */
export function traceTags(
  root: ReadableSpan,
  source: ReadableSpan,
  otelTraceId: string,
): Record<string, string> {
  const name =
    TRACE_NAME_ATTRIBUTES.map((key) => stringAttribute(source, key)).find((value) => value !== undefined) ??
    source.name ??
    root.name;
  const tags: Record<string, string> = {
    "mlflow.traceName": truncate(name, TAG_VALUE_MAX_CHARS),
    "llmux.otel_trace_id": otelTraceId,
  };
  const requestTags = stringArrayAttribute(source, "llmux.tags");
  for (const tag of requestTags) {
    if (tag.length <= TAG_KEY_MAX_CHARS && VALID_TAG_KEY.test(tag) && !tag.startsWith("mlflow."))
      tags[tag] = "";
  }
  if (requestTags.length > 0) tags["llmux.tags"] = truncate(requestTags.join(","), TAG_VALUE_MAX_CHARS);
  return tags;
}

/** The llmux call span among spans (the span carrying the call id), if any. */
export function callSpanOf(spans: readonly ReadableSpan[]): ReadableSpan | undefined {
  return spans.find((span) => CALL_ID_ATTRIBUTES.some((key) => stringAttribute(span, key) !== undefined));
}

/**
 * The trace info of a trace: timing and state from its root, the call's user, session, token
 * usage, id (client_request_id), previews and tags from `source` (the llmux call span; the root
 * itself when the call span is the root). Metadata values are plain strings, as MLflow stores them.
 */
export function buildTraceInfo(
  group: TraceGroup,
  experimentId: string,
  source: ReadableSpan = group.root,
): SerializedTraceInfo {
  const root = group.root;
  const startMs = Math.min(...group.spans.map((span) => hrTimeToMillis(span.startTime)));
  const endMs = Math.max(...group.spans.map((span) => hrTimeToMillis(span.endTime)));
  const metadata: Record<string, string> = { "mlflow.trace_schema.version": "3" };
  const tokenUsage = stringAttribute(source, "mlflow.chat.tokenUsage");
  if (tokenUsage !== undefined && isJsonText(tokenUsage)) metadata["mlflow.trace.tokenUsage"] = tokenUsage;
  const user = stringAttribute(source, "user.id");
  if (user !== undefined) metadata["mlflow.trace.user"] = user;
  const session = stringAttribute(source, "session.id");
  if (session !== undefined) metadata["mlflow.trace.session"] = session;
  const info: SerializedTraceInfo = {
    trace_id: group.mlflowTraceId,
    trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } },
    request_time: new Date(Math.floor(startMs)).toISOString(),
    execution_duration: `${(Math.max(0, endMs - startMs) / 1000).toFixed(3)}s`,
    state: root.status.code === 2 ? "ERROR" : "OK",
    trace_metadata: metadata,
    tags: traceTags(root, source, group.otelTraceId),
  };
  const callId = CALL_ID_ATTRIBUTES.map((key) => stringAttribute(source, key)).find(
    (value) => value !== undefined,
  );
  if (callId !== undefined) info.client_request_id = callId;
  const inputs = stringAttribute(source, "mlflow.spanInputs");
  if (inputs !== undefined) info.request_preview = truncate(inputs, PREVIEW_MAX_CHARS);
  const outputs = stringAttribute(source, "mlflow.spanOutputs");
  if (outputs !== undefined) info.response_preview = truncate(outputs, PREVIEW_MAX_CHARS);
  return info;
}

const STATUS_NAMES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"] as const;

/** The `traces.json` document: `{"spans": [...]}` in MLflow's span dict format (ids base64, times in integer ns). */
export function buildTraceData(group: TraceGroup): string {
  const marker = `__llmux_ns_${randomBytes(6).toString("hex")}_`;
  const nanos = (time: HrTime): string => `${marker}${hrTimeToNanos(time)}`;
  const traceRequestId = JSON.stringify(group.mlflowTraceId);
  const spans = group.spans.map((span) => {
    const context = span.spanContext();
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(span.attributes)) {
      if (value === undefined) continue;
      attributes[key] =
        JSON_VALUED_ATTRIBUTES.has(key) && typeof value === "string" && isJsonText(value)
          ? value
          : JSON.stringify(value);
    }
    attributes["mlflow.traceRequestId"] = traceRequestId;
    const parent = span.parentSpanContext?.spanId;
    const isRoot = group.rootSpanIds.has(context.spanId) || parent === undefined;
    return {
      trace_id: hexToBase64(context.traceId),
      span_id: hexToBase64(context.spanId),
      trace_state: context.traceState?.serialize() ?? "",
      parent_span_id: isRoot ? "" : hexToBase64(parent),
      name: span.name,
      start_time_unix_nano: nanos(span.startTime),
      end_time_unix_nano: nanos(span.endTime),
      events: span.events.map((event) => ({
        name: event.name,
        time_unix_nano: nanos(event.time),
        attributes: event.attributes ?? {},
      })),
      status: {
        code: STATUS_NAMES[span.status.code] ?? "STATUS_CODE_UNSET",
        message: span.status.message ?? "",
      },
      attributes,
    };
  });
  // integer nanoseconds (19 digits) exceed double precision: written as bare JSON integers
  return JSON.stringify({ spans }).replace(new RegExp(`"${marker}(\\d+)"`, "g"), "$1");
}

/** Step 1: StartTraceV3. Returns the artifact location the server chose for the span data. */
export async function startTrace(client: MlflowHttpClient, info: SerializedTraceInfo): Promise<string> {
  const path = "/api/3.0/mlflow/traces";
  const result = await client.send("POST", path, { json: { trace: { trace_info: info } } });
  const parsed = parseJson(result.text);
  if (result.status === 404 && !hasErrorCode(parsed)) {
    throw createMlflowError(
      "unsupported",
      "the MLflow server has no trace API (POST /api/3.0/mlflow/traces answered 404): the REST trace fallback needs MLflow ≥ 3.0",
      { status: 404 },
    );
  }
  if (result.status < 200 || result.status >= 300)
    throw httpError("POST", path, result.status, parsed, result.text);
  const tags = (parsed as { trace?: { trace_info?: { tags?: Record<string, unknown> } } } | undefined)?.trace
    ?.trace_info?.tags;
  const location = tags?.["mlflow.artifactLocation"];
  if (typeof location !== "string" || location === "") {
    throw createMlflowError("protocol", "StartTraceV3 answered without the mlflow.artifactLocation tag");
  }
  return location;
}

/**
 * OTLP mode: the trace info of a trace whose spans went through /v1/traces, written with
 * StartTraceV3 as MLflow's own SDK does after logging spans (the server merges it into the trace
 * log_spans created). This sets what span ingestion leaves out or stores JSON-quoted on MLflow 3.x:
 * user and session metadata as plain strings, client_request_id, the trace name and the tags.
 */
export async function completeTrace(client: MlflowHttpClient, info: SerializedTraceInfo): Promise<void> {
  const path = "/api/3.0/mlflow/traces";
  const result = await client.send("POST", path, { json: { trace: { trace_info: info } } });
  const parsed = parseJson(result.text);
  if (result.status === 404 && !hasErrorCode(parsed)) {
    throw createMlflowError(
      "unsupported",
      "the MLflow server has no trace API (POST /api/3.0/mlflow/traces)",
      {
        status: 404,
      },
    );
  }
  if (result.status < 200 || result.status >= 300)
    throw httpError("POST", path, result.status, parsed, result.text);
}

/** Step 2: writes traces.json under the artifact location. */
export async function uploadTraceData(
  client: MlflowHttpClient,
  artifactLocation: string,
  data: string,
): Promise<void> {
  const fileName = "traces.json";
  let result: { status: number; text: string };
  let described: string;
  if (artifactLocation.startsWith("mlflow-artifacts:")) {
    const path = artifactPath(artifactLocation);
    described = `/api/2.0/mlflow-artifacts/artifacts${path}/${fileName}`;
    result = await client.send("PUT", described, { body: data, contentType: "application/json" });
  } else if (artifactLocation.startsWith("s3://") || artifactLocation.startsWith("s3a://")) {
    const withoutScheme = artifactLocation.replace(/^s3a?:\/\//, "");
    const slash = withoutScheme.indexOf("/");
    const bucket = slash === -1 ? withoutScheme : withoutScheme.slice(0, slash);
    const prefix = slash === -1 ? "" : withoutScheme.slice(slash + 1).replace(/\/+$/, "");
    const key = prefix === "" ? fileName : `${prefix}/${fileName}`;
    described = `s3://${bucket}/${key}`;
    result = await client.putS3Object(bucket, key, data, "application/json");
  } else if (artifactLocation.startsWith("http://") || artifactLocation.startsWith("https://")) {
    const url = `${artifactLocation.replace(/\/+$/, "")}/${fileName}`;
    described = new URL(url).pathname;
    result = await client.sendAbsolute("PUT", url, { body: data, contentType: "application/json" });
  } else {
    throw createMlflowError(
      "unsupported",
      `trace data location "${artifactLocation.split(":")[0]}:…" cannot be written by llmux: run the tracking server with artifact proxying (mlflow server --serve-artifacts, the default) or an s3:// artifact root`,
    );
  }
  if (result.status < 200 || result.status >= 300) {
    throw httpError("PUT", described, result.status, parseJson(result.text), result.text);
  }
}

function artifactPath(location: string): string {
  // mlflow-artifacts:/1/traces/tr-x/artifacts or mlflow-artifacts://host:port/1/traces/...
  const rest = location.slice("mlflow-artifacts:".length);
  const path = rest.startsWith("//")
    ? rest.slice(rest.indexOf("/", 2) === -1 ? rest.length : rest.indexOf("/", 2))
    : rest;
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

function hasErrorCode(parsed: unknown): boolean {
  return (
    typeof parsed === "object" &&
    parsed !== null &&
    typeof (parsed as { error_code?: unknown }).error_code === "string"
  );
}
