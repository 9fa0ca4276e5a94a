/** OTLP/HTTP protobuf encoding of spans (ExportTraceServiceRequest) with the OpenTelemetry serializer. */

import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createMlflowError } from "./errors";

export const OTLP_TRACES_PATH = "/v1/traces";
export const EXPERIMENT_ID_HEADER = "x-mlflow-experiment-id";
export const OTLP_CONTENT_TYPE = "application/x-protobuf";

export function encodeSpans(spans: ReadableSpan[]): Uint8Array {
  const body = ProtobufTraceSerializer.serializeRequest(spans);
  if (body === undefined) throw createMlflowError("protocol", "the OTLP serializer returned nothing");
  return body;
}
