/**
 * Test-only OTLP decoding: ExportTraceServiceRequest protobuf → plain spans (protobufjs with the
 * subset of opentelemetry/proto/trace/v1 the tests read).
 */
import protobuf from "protobufjs";

const PROTO = `
syntax = "proto3";
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
  int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const root = protobuf.parse(PROTO).root;
const Request = root.lookupType("ExportTraceServiceRequest");

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  statusCode: number;
  resource: Record<string, unknown>;
}

function anyValue(value: Record<string, unknown> | undefined): unknown {
  if (!value) return undefined;
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("arrayValue" in value) {
    const values = (value.arrayValue as { values?: Record<string, unknown>[] }).values ?? [];
    return values.map(anyValue);
  }
  return undefined;
}

function attributes(
  list: Array<{ key: string; value?: Record<string, unknown> }> | undefined,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const item of list ?? []) result[item.key] = anyValue(item.value);
  return result;
}

export function decodeOtlpSpans(body: Uint8Array): DecodedSpan[] {
  const message = Request.toObject(Request.decode(body), { oneofs: false, longs: String, bytes: Buffer }) as {
    resourceSpans?: Array<{
      resource?: { attributes?: Array<{ key: string; value?: Record<string, unknown> }> };
      scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
    }>;
  };
  const spans: DecodedSpan[] = [];
  for (const resourceSpans of message.resourceSpans ?? []) {
    const resource = attributes(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          traceId: Buffer.from(span.traceId as Uint8Array).toString("hex"),
          spanId: Buffer.from(span.spanId as Uint8Array).toString("hex"),
          parentSpanId: span.parentSpanId ? Buffer.from(span.parentSpanId as Uint8Array).toString("hex") : "",
          name: String(span.name),
          attributes: attributes(span.attributes as Array<{ key: string; value?: Record<string, unknown> }>),
          statusCode: Number((span.status as { code?: number } | undefined)?.code ?? 0),
          resource,
        });
      }
    }
  }
  return spans;
}
