/** Decodes an OTLP protobuf request body with @llmux/testing's decoder (the one its OTLP receiver uses). */
import { type DecodedSpan, decodeProtobufTraces } from "@llmux/testing";

export function decodeOtlpSpans(body: Uint8Array): DecodedSpan[] {
  return decodeProtobufTraces(body, "/v1/traces");
}
