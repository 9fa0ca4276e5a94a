export { decodeJsonTraces, decodeProtobufTraces, flattenAttributes, flattenValue } from "./decode";
export { startOtlpReceiver } from "./receiver";
export type {
  DecodedSpan,
  DecodedSpanEvent,
  OtlpReceiver,
  OtlpReceiverOptions,
  OtlpValue,
  ReceivedRequest,
  ReceivedScore,
  SpanKindName,
} from "./types";
