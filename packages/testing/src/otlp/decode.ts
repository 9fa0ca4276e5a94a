/**
 * Decodes OTLP trace export requests, protobuf (with the official opentelemetry-proto
 * definitions, through protobufjs) or OTLP/JSON, into flat DecodedSpan objects.
 */
import protobuf from "protobufjs";
import { otlpTraceDescriptor } from "./otlp-descriptor";
import type { DecodedSpan, DecodedSpanEvent, OtlpValue, SpanKindName } from "./types";

const root = protobuf.Root.fromJSON(otlpTraceDescriptor as unknown as protobuf.INamespace);
const exportRequestType = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");

const KIND_NAMES: SpanKindName[] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];

type Loose = Record<string, unknown>;

function isRecord(value: unknown): value is Loose {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Ids arrive as bytes (protobuf), hex strings (OTLP/JSON) or base64 (protobuf JSON mapping). */
function idOf(value: unknown, length: number): string | undefined {
  if (value instanceof Uint8Array) return value.byteLength === 0 ? undefined : hex(value);
  if (typeof value !== "string" || value.length === 0) return undefined;
  if (value.length === length * 2 && /^[0-9a-fA-F]+$/.test(value)) return value.toLowerCase();
  const decoded = Buffer.from(value, "base64");
  return decoded.length === length ? decoded.toString("hex") : value;
}

function numberOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string") return Number(value);
  if (typeof value === "bigint") return Number(value);
  if (isRecord(value) && typeof value.low === "number" && typeof value.high === "number") {
    return value.high * 2 ** 32 + (value.low >>> 0);
  }
  return Number.NaN;
}

function nanosOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(Math.round(value));
  if (typeof value === "bigint") return value.toString();
  if (isRecord(value) && typeof value.low === "number" && typeof value.high === "number") {
    return ((BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)).toString();
  }
  return "0";
}

function millisOf(nanos: string): number {
  try {
    const big = BigInt(nanos);
    return Number(big / 1_000_000n) + Number(big % 1_000_000n) / 1_000_000;
  } catch {
    return Number.NaN;
  }
}

/** Flattens an OTLP AnyValue. */
export function flattenValue(value: unknown): OtlpValue {
  if (!isRecord(value)) return null;
  if ("stringValue" in value && value.stringValue !== undefined) return String(value.stringValue);
  if ("boolValue" in value && value.boolValue !== undefined) return Boolean(value.boolValue);
  if ("intValue" in value && value.intValue !== undefined) return numberOf(value.intValue);
  if ("doubleValue" in value && value.doubleValue !== undefined) return numberOf(value.doubleValue);
  if ("arrayValue" in value && isRecord(value.arrayValue)) {
    const values = Array.isArray(value.arrayValue.values) ? value.arrayValue.values : [];
    return values.map(flattenValue);
  }
  if ("kvlistValue" in value && isRecord(value.kvlistValue)) {
    return flattenAttributes(value.kvlistValue.values);
  }
  if ("bytesValue" in value && value.bytesValue !== undefined) {
    const bytes = value.bytesValue;
    return bytes instanceof Uint8Array ? Buffer.from(bytes).toString("base64") : String(bytes);
  }
  return null;
}

export function flattenAttributes(list: unknown): Record<string, OtlpValue> {
  const result: Record<string, OtlpValue> = {};
  if (!Array.isArray(list)) return result;
  for (const item of list) {
    if (isRecord(item) && typeof item.key === "string") result[item.key] = flattenValue(item.value);
  }
  return result;
}

function decodeEvent(event: unknown): DecodedSpanEvent {
  const fields = isRecord(event) ? event : {};
  return {
    name: typeof fields.name === "string" ? fields.name : "",
    timeUnixNano: nanosOf(fields.timeUnixNano),
    attributes: flattenAttributes(fields.attributes),
  };
}

/** Flattens an ExportTraceServiceRequest object (protobufjs toObject output or OTLP/JSON). */
export function flattenExportRequest(
  request: unknown,
  path: string,
  encoding: "protobuf" | "json",
): DecodedSpan[] {
  const spans: DecodedSpan[] = [];
  const resourceSpans =
    isRecord(request) && Array.isArray(request.resourceSpans) ? request.resourceSpans : [];
  for (const resourceSpan of resourceSpans) {
    if (!isRecord(resourceSpan)) continue;
    const resource = flattenAttributes(
      isRecord(resourceSpan.resource) ? resourceSpan.resource.attributes : undefined,
    );
    const scopeSpans = Array.isArray(resourceSpan.scopeSpans) ? resourceSpan.scopeSpans : [];
    for (const scopeSpan of scopeSpans) {
      if (!isRecord(scopeSpan)) continue;
      const scopeFields = isRecord(scopeSpan.scope) ? scopeSpan.scope : {};
      const scope: DecodedSpan["scope"] = {
        name: typeof scopeFields.name === "string" ? scopeFields.name : "",
      };
      if (typeof scopeFields.version === "string" && scopeFields.version) scope.version = scopeFields.version;
      for (const span of Array.isArray(scopeSpan.spans) ? scopeSpan.spans : []) {
        if (!isRecord(span)) continue;
        const kind = numberOf(span.kind ?? 0);
        const start = nanosOf(span.startTimeUnixNano);
        const end = nanosOf(span.endTimeUnixNano);
        const statusFields = isRecord(span.status) ? span.status : {};
        const status: DecodedSpan["status"] = {
          code: Number.isFinite(numberOf(statusFields.code)) ? numberOf(statusFields.code) : 0,
        };
        if (typeof statusFields.message === "string" && statusFields.message)
          status.message = statusFields.message;
        const decoded: DecodedSpan = {
          traceId: idOf(span.traceId, 16) ?? "",
          spanId: idOf(span.spanId, 8) ?? "",
          name: typeof span.name === "string" ? span.name : "",
          kind,
          kindName: KIND_NAMES[kind] ?? "UNSPECIFIED",
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          startTimeMs: millisOf(start),
          endTimeMs: millisOf(end),
          attributes: flattenAttributes(span.attributes),
          events: Array.isArray(span.events) ? span.events.map(decodeEvent) : [],
          status,
          resource,
          scope,
          path,
          encoding,
        };
        const parent = idOf(span.parentSpanId, 8);
        if (parent) decoded.parentSpanId = parent;
        if (typeof span.traceState === "string" && span.traceState) decoded.traceState = span.traceState;
        spans.push(decoded);
      }
    }
  }
  return spans;
}

/** Decodes a protobuf ExportTraceServiceRequest body. */
export function decodeProtobufTraces(body: Uint8Array, path: string): DecodedSpan[] {
  const message = exportRequestType.decode(body);
  const object = exportRequestType.toObject(message, { longs: String, enums: Number, defaults: false });
  return flattenExportRequest(object, path, "protobuf");
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest body. */
export function decodeJsonTraces(body: string, path: string): DecodedSpan[] {
  return flattenExportRequest(JSON.parse(body), path, "json");
}
