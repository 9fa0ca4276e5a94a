/**
 * Counts the spans of an OTLP/protobuf trace export request without decoding them: a walk of the
 * message's framing (protobufjs's Reader) that descends into resource_spans (field 1 of
 * ExportTraceServiceRequest) and scope_spans (field 2 of ResourceSpans) and counts the spans (field 2
 * of ScopeSpans), skipping every other field. For a receiver that only needs to know how many spans
 * arrived (the bench's): a full decode builds every attribute as an object, which costs the machine
 * the bench measures on more than the export itself. Throws on malformed framing, as decoding does.
 */
import protobuf from "protobufjs";

const LENGTH_DELIMITED = 2;
const RESOURCE_SPANS = 1;
const SCOPE_SPANS = 2;
const SPANS = 2;

export function countProtobufSpans(body: Uint8Array): number {
  const reader = protobuf.Reader.create(body);
  let count = 0;
  eachMessage(reader, reader.len, RESOURCE_SPANS, (resourceSpansEnd) =>
    eachMessage(reader, resourceSpansEnd, SCOPE_SPANS, (scopeSpansEnd) =>
      eachMessage(reader, scopeSpansEnd, SPANS, (spanEnd) => {
        count++;
        reader.pos = spanEnd;
      }),
    ),
  );
  return count;
}

/**
 * Reads the fields up to `end`: each length-delimited field numbered `field` is handed to `visit`
 * (with where it ends), which reads it to its end; every other field is skipped.
 */
function eachMessage(
  reader: protobuf.Reader,
  end: number,
  field: number,
  visit: (messageEnd: number) => void,
): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (wireType !== LENGTH_DELIMITED || tag >>> 3 !== field) {
      reader.skipType(wireType);
      continue;
    }
    const length = reader.uint32();
    const messageEnd = reader.pos + length;
    if (messageEnd > end) throw new Error("protobuf: a message runs past its parent");
    visit(messageEnd);
    if (reader.pos !== messageEnd) throw new Error("protobuf: a message was not read to its end");
  }
  if (reader.pos !== end) throw new Error("protobuf: a field runs past its message");
}
