/**
 * OTLP/protobuf encoding of a span batch (ExportTraceServiceRequest), for llmux's OTLP/HTTP
 * exporters: the same bytes as @opentelemetry/otlp-transformer's ProtobufTraceSerializer (same
 * field order, canonical varints; otlp-trace-encoder.test.ts compares them byte for byte), in one
 * pass instead of two and with each string gone over once: short ASCII ones by a JavaScript loop,
 * the others by Node's native UTF-8 writer, without measuring them first (the transformer's
 * writer goes over each twice: size estimate, then write). Attribute keys, which repeat on every
 * span, are encoded once and copied; so are the values of keys whose values repeat (models,
 * providers, deployments: REPEATED_VALUE_KEYS).
 *
 * Nested messages reserve room for their length as their expected size needs (a span, the batch's
 * ResourceSpans and ScopeSpans: from the last batch's bytes per span; others one byte) and move
 * their content when the length needs another number of bytes; a string attribute value, the bulk of a
 * span (prompt and response content), is written after a length prefix sized for one byte per
 * character, and moved in the rare case that it needed a longer one.
 */
import type { AttributeValue, HrTime, SpanContext } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import * as A from "./attributes";

type AnyValue = AttributeValue | Uint8Array | Record<string, unknown> | null | undefined;

/**
 * Strings up to this many characters are written by a JavaScript loop while they are ASCII:
 * below it the loop is quicker than a call into Buffer#write (measured: 20 ns against 60 ns at
 * 6 characters, about even at 24).
 */
const SHORT_STRING = 24;
/**
 * Strings up to this many characters are written before their length is known (room for three
 * bytes per character, the most UTF-8 takes), then moved if their length prefix turned out longer
 * than guessed: one pass over the text instead of two (Buffer.byteLength, then Buffer#write).
 * Longer ones (prompts, responses) are measured first, so that a long text does not reserve three
 * times its size in the batch's buffer (which would then grow, and be kept while the export runs).
 */
const WRITTEN_UNMEASURED = 2048;
/** Room for an attribute's tag and the four varints around its key and value (5 bytes each suffice). */
const PAIR_HEADER_ROOM = 32;

function varintSize(value: number): number {
  if (value < 0) return 10;
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 0x800000000) return 5;
  if (value < 0x40000000000) return 6;
  if (value < 0x2000000000000) return 7;
  if (value < 0x100000000000000) return 8;
  return value < 2 ** 63 ? 9 : 10;
}

/**
 * Bytes per span of the last batch: the next batch's first guess at its buffer (grown by doubling
 * if short) and at the length prefixes of its spans, ScopeSpans and ResourceSpans.
 */
let bytesPerSpan = 2048;

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
const SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE = 0x100;
const SPAN_FLAGS_CONTEXT_IS_REMOTE = 0x200;

class Writer {
  buffer: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  ensure(size: number): void {
    const needed = this.pos + size;
    if (needed <= this.buffer.length) return;
    let length = this.buffer.length * 2;
    while (length < needed) length *= 2;
    const grown = Buffer.allocUnsafe(length);
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
  }

  byte(value: number): void {
    this.buffer[this.pos++] = value;
  }

  /** A varint whose room was ensured by the caller. */
  varintUnchecked(value: number): void {
    const buffer = this.buffer;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        buffer[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buffer[this.pos++] = v;
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 0x7f) {
      buffer[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buffer[this.pos++] = low & 0x7f;
  }

  varint(value: number): void {
    this.ensure(10);
    this.varintUnchecked(value);
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /**
   * Writes `text` as UTF-8 at `at` (not moving `pos`; the caller ensured three bytes per
   * character) and returns its byte count.
   */
  utf8At(text: string, at: number): number {
    const length = text.length;
    if (length <= SHORT_STRING) {
      const buffer = this.buffer;
      let pos = at;
      for (let index = 0; index < length; index++) {
        const code = text.charCodeAt(index);
        if (code > 127) return buffer.write(text, at, buffer.length - at, "utf8");
        buffer[pos++] = code;
      }
      return length;
    }
    return this.buffer.write(text, at, this.buffer.length - at, "utf8");
  }

  /** A length-prefixed string. */
  string(text: string): void {
    const length = text.length;
    if (length > WRITTEN_UNMEASURED) {
      const bytes = Buffer.byteLength(text);
      this.varint(bytes);
      this.ensure(bytes);
      this.pos += this.buffer.write(text, this.pos, bytes, "utf8");
      return;
    }
    this.ensure(10 + 3 * length);
    // written after a prefix as long as one byte per character needs, moved if it needed more
    const guessed = varintSize(length);
    const bodyStart = this.pos + guessed;
    const bytes = this.utf8At(text, bodyStart);
    const size = varintSize(bytes);
    if (size !== guessed) this.buffer.copyWithin(this.pos + size, bodyStart, bodyStart + bytes);
    this.varintUnchecked(bytes);
    this.pos += bytes;
  }

  /**
   * Encoded bytes (room ensured by the caller): an attribute key, or a key and its value. Up to a
   * couple of dozen bytes one by one, for which TypedArray#set's own cost (about 30 ns) is more
   * than the copy; set above that.
   */
  copyBytes(bytes: Uint8Array): void {
    const buffer = this.buffer;
    const length = bytes.length;
    if (length > 24) {
      buffer.set(bytes, this.pos);
      this.pos += length;
      return;
    }
    let pos = this.pos;
    for (let index = 0; index < length; index++) buffer[pos++] = bytes[index] as number;
    this.pos = pos;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.ensure(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  /** Bytes held as a latin1 string (one character per byte, see PreEncodedSpan), length-prefixed. */
  latin1Bytes(value: string): void {
    this.varint(value.length);
    this.ensure(value.length);
    this.pos += this.buffer.write(value, this.pos, value.length, "latin1");
  }

  /** A hex id (trace or span id) as bytes. */
  hex(text: string): void {
    const length = text.length >>> 1;
    this.varint(length);
    this.ensure(length);
    const buffer = this.buffer;
    let pos = this.pos;
    for (let index = 0; index < text.length; index += 2) {
      buffer[pos++] =
        ((HEX_VALUES[text.charCodeAt(index) & 0xff] as number) << 4) |
        (HEX_VALUES[text.charCodeAt(index + 1) & 0xff] as number);
    }
    this.pos = pos;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.buffer.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.buffer.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** [seconds, nanoseconds] as fixed64 nanoseconds, exact past 2^53 (the transformer's arithmetic). */
  hrTime(time: HrTime): void {
    this.nanoseconds(time[0], time[1]);
  }

  /**
   * Epoch milliseconds as fixed64 nanoseconds: the [seconds, nanoseconds] that @opentelemetry/core's
   * millisToHrTime makes of them (what a span's startTime and endTime read), without the array.
   */
  epochMillis(millis: number): void {
    this.nanoseconds(Math.trunc(millis / 1000), Math.round((millis % 1000) * 1_000_000));
  }

  private nanoseconds(seconds: number, nanos: number): void {
    this.ensure(8);
    const lower = (seconds & 0xffff) * 1_000_000_000;
    const upper = ((seconds / 0x10000) >>> 0) * 1_000_000_000;
    const lowWithCarry = (lower >>> 0) + (((upper & 0xffff) * 0x10000) >>> 0) + nanos;
    const high =
      (Math.floor(lower / 0x100000000) +
        ((upper / 0x10000) >>> 0) +
        Math.floor(lowWithCarry / 0x100000000)) >>>
      0;
    this.buffer.writeUInt32LE(lowWithCarry >>> 0, this.pos);
    this.buffer.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  /**
   * Reserves room for a nested message's length, as much as `expected` bytes of content need (one
   * byte unless told); returns where its content starts. finish is told the same `expected`.
   */
  start(expected = 0): number {
    const reserved = varintSize(expected);
    this.ensure(reserved);
    this.pos += reserved;
    return this.pos;
  }

  /**
   * Writes the length of the message whose content started at `contentStart`, moving the content
   * when the length needs another number of bytes than start reserved for `expected` (a message
   * of more than 127 bytes that expected none: a memmove of all of it, which a batch's
   * ResourceSpans and ScopeSpans, holding every span, avoid by telling their size).
   */
  finish(contentStart: number, expected = 0): void {
    const lengthStart = contentStart - varintSize(expected);
    const length = this.pos - contentStart;
    const size = varintSize(length);
    const moved = lengthStart + size;
    if (moved !== contentStart) {
      if (moved > contentStart) this.ensure(moved - contentStart);
      this.buffer.copyWithin(moved, contentStart, this.pos);
      this.pos += moved - contentStart;
    }
    const end = this.pos;
    this.pos = lengthStart;
    this.varintUnchecked(length);
    this.pos = end;
  }
}

/** Value of a hex digit by its character code (0-9, a-f, A-F; anything else reads as 0). */
const HEX_VALUES = (() => {
  const values = new Uint8Array(256);
  for (let digit = 0; digit < 10; digit++) values[48 + digit] = digit;
  for (let digit = 0; digit < 6; digit++) {
    values[97 + digit] = 10 + digit;
    values[65 + digit] = 10 + digit;
  }
  return values;
})();

/**
 * Keys whose string values repeat from call to call (a few models, providers, deployments and
 * upstreams, and constants): the encoder keeps each value's encoded attribute instead of
 * encoding it on every span. Per-call values (ids, content) stay out.
 */
const REPEATED_VALUE_KEYS: ReadonlySet<string> = new Set([
  A.GEN_AI_OPERATION_NAME,
  A.GEN_AI_PROVIDER_NAME,
  A.GEN_AI_REQUEST_MODEL,
  A.GEN_AI_RESPONSE_MODEL,
  A.GEN_AI_OUTPUT_TYPE,
  A.SERVER_ADDRESS,
  A.ERROR_TYPE,
  A.LANGFUSE_OBSERVATION_TYPE,
  A.LANGFUSE_OBSERVATION_MODEL_NAME,
  A.LANGFUSE_TRACE_NAME,
  A.LANGFUSE_ENVIRONMENT,
  A.LANGFUSE_RELEASE,
  A.MLFLOW_SPAN_TYPE,
  A.LLMUX_MODEL_GROUP,
  A.LLMUX_CALL_TYPE,
  A.LLMUX_TEAM,
  A.LLMUX_DEPLOYMENT_ID,
  A.LLMUX_COST_REASON,
  A.LLMUX_ATTEMPT_OUTCOME,
]);

/** How an attribute key is written (see keyEncoding). */
interface KeyEncoding {
  /** `KeyValue.key`: tag, length, bytes. */
  readonly key: Uint8Array;
  /**
   * For a key whose string values repeat from span to span (REPEATED_VALUE_KEYS): each value's
   * whole `KeyValue` content (key and value), encoded once; otherwise undefined.
   */
  readonly values: Map<string, Uint8Array> | undefined;
  /** Values missed since `values` was full (see REPEATED_VALUES_RENEWAL). */
  missedWhileFull: number;
}

/** The encodings of the attribute keys seen before. */
const keyCache = new Map<string, KeyEncoding>();
const KEY_CACHE_LIMIT = 2048;
/**
 * Bounds of a repeated key's values: at most this many, each at most this many characters. A full
 * cache takes no new value (a miss is written directly, as an uncached key's) until it has missed
 * REPEATED_VALUES_RENEWAL times, then starts over: a key with more values than the cache holds
 * (teams, deployments in a large gateway) costs one Map lookup per miss, not an encoding and an
 * insertion per span, and a cache filled by one-off values is renewed.
 */
const REPEATED_VALUES_LIMIT = 64;
const REPEATED_VALUE_MAX_LENGTH = 128;
const REPEATED_VALUES_RENEWAL = 1024;

/**
 * What `writer` wrote, in memory of its own: a slice of its buffer could keep a pooled 8 KB slab
 * alive (small Buffers share one).
 */
function ownCopy(writer: Writer): Uint8Array {
  const bytes = new Uint8Array(writer.pos);
  bytes.set(writer.buffer.subarray(0, writer.pos));
  return bytes;
}

function keyEncoding(key: string): KeyEncoding {
  let encoding = keyCache.get(key);
  if (encoding === undefined) {
    const writer = new Writer(1 + 10 + 3 * key.length);
    writer.byte((1 << 3) | 2);
    writer.string(key);
    encoding = {
      key: ownCopy(writer),
      values: REPEATED_VALUE_KEYS.has(key) ? new Map() : undefined,
      missedWhileFull: 0,
    };
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
    keyCache.set(key, encoding);
  }
  return encoding;
}

/**
 * The `KeyValue` content (key, then the string value) of a repeated key's value, encoded once;
 * undefined when the value is not cached and the cache is full (the caller writes it directly).
 */
function repeatedPair(
  encoding: KeyEncoding,
  values: Map<string, Uint8Array>,
  value: string,
): Uint8Array | undefined {
  let pair = values.get(value);
  if (pair === undefined) {
    if (values.size >= REPEATED_VALUES_LIMIT) {
      if (++encoding.missedWhileFull < REPEATED_VALUES_RENEWAL) return undefined;
      encoding.missedWhileFull = 0;
      values.clear();
    }
    const writer = new Writer(PAIR_HEADER_ROOM + encoding.key.length + 3 * value.length);
    writer.copyBytes(encoding.key);
    writer.byte((2 << 3) | 2);
    const anyValue = writer.start();
    writer.tag(1, 2);
    writer.string(value);
    writer.finish(anyValue);
    pair = ownCopy(writer);
    values.set(value, pair);
  }
  return pair;
}

/** How many values of `key` the encoder holds encoded (for tests of the bound). */
export function repeatedValuesCached(key: string): number {
  return keyCache.get(key)?.values?.size ?? 0;
}

function writeAnyValue(writer: Writer, value: AnyValue): void {
  const type = typeof value;
  if (type === "string") {
    writer.tag(1, 2);
    writer.string(value as string);
  } else if (type === "boolean") {
    writer.tag(2, 0);
    writer.varint(value ? 1 : 0);
  } else if (type === "number") {
    const number = value as number;
    if (Number.isInteger(number) && number >= MIN_INT64 && number < MAX_INT64) {
      writer.tag(3, 0);
      writer.varint(number);
    } else {
      writer.tag(4, 1);
      writer.double(number);
    }
  } else if (value instanceof Uint8Array) {
    writer.tag(7, 2);
    writer.bytes(value);
  } else if (Array.isArray(value)) {
    writer.tag(5, 2);
    const array = writer.start();
    for (const item of value) {
      writer.tag(1, 2);
      const start = writer.start();
      writeAnyValue(writer, item as AnyValue);
      writer.finish(start);
    }
    writer.finish(array);
  } else if (type === "object" && value !== null) {
    writer.tag(6, 2);
    const list = writer.start();
    const object = value as Record<string, unknown>;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      writer.tag(1, 2);
      const pair = writer.start();
      writer.tag(1, 2);
      writer.string(key);
      writer.tag(2, 2);
      const inner = writer.start();
      writeAnyValue(writer, object[key] as AnyValue);
      writer.finish(inner);
      writer.finish(pair);
    }
    writer.finish(list);
  }
  // anything else (undefined, a function): nothing, as the transformer
}

/**
 * Bytes of a string attribute's KeyValue before the string's own bytes: the tag, the pair's
 * length, the key, the value's tag and length, the string's tag and length.
 */
function stringPairHeaderSize(tag: number, key: Uint8Array, bytes: number): number {
  const anyValue = 1 + varintSize(bytes) + bytes;
  const pair = key.length + 1 + varintSize(anyValue) + anyValue;
  return varintSize(tag) + varintSize(pair) + pair - bytes;
}

/**
 * A string attribute, written in one pass over its text: the text goes after a header sized as
 * if it were one byte per character (ASCII, the usual attribute), and is moved forward in the
 * rare case that its real length needs longer varints.
 */
function writeStringAttribute(writer: Writer, key: Uint8Array, value: string, tag: number): void {
  const length = value.length;
  let bytes: number;
  let header: number;
  if (length > WRITTEN_UNMEASURED) {
    bytes = Buffer.byteLength(value);
    header = stringPairHeaderSize(tag, key, bytes);
    writer.ensure(header + bytes);
    writer.buffer.write(value, writer.pos + header, bytes, "utf8");
  } else {
    writer.ensure(PAIR_HEADER_ROOM + key.length + 3 * length);
    header = stringPairHeaderSize(tag, key, length);
    const bodyStart = writer.pos + header;
    bytes = writer.utf8At(value, bodyStart);
    if (bytes !== length) {
      const needed = stringPairHeaderSize(tag, key, bytes);
      if (needed !== header) {
        writer.buffer.copyWithin(writer.pos + needed, bodyStart, bodyStart + bytes);
        header = needed;
      }
    }
  }
  // the header in the room left for it before the text (already in the buffer)
  writeValueHead(writer, key, tag, 1 + varintSize(bytes) + bytes);
  writer.byte((1 << 3) | 2);
  writer.varintUnchecked(bytes);
  writer.pos += bytes;
}

/** The head of an attribute whose AnyValue is `anyValue` bytes long (room ensured here), up to that value. */
function writeFixedValueHead(writer: Writer, key: Uint8Array, tag: number, anyValue: number): void {
  writer.ensure(10 + 10 + key.length + 1 + varintSize(anyValue) + anyValue);
  writeValueHead(writer, key, tag, anyValue);
}

/**
 * An attribute's KeyValue up to its AnyValue's content (room ensured by the caller): the field's
 * tag, the pair's length, the key, the value's tag and length. stringPairHeaderSize counts the same.
 */
function writeValueHead(writer: Writer, key: Uint8Array, tag: number, anyValue: number): void {
  writer.varintUnchecked(tag);
  writer.varintUnchecked(key.length + 1 + varintSize(anyValue) + anyValue);
  writer.copyBytes(key);
  writer.byte((2 << 3) | 2);
  writer.varintUnchecked(anyValue);
}

/**
 * One KeyValue under `field`. Strings, numbers and booleans know their encoded length before
 * they are written (no nested message to measure afterwards); the rest goes through writeAnyValue.
 */
function writeAttribute(writer: Writer, key: string, value: unknown, tag: number): void {
  const encoding = keyEncoding(key);
  const encodedKeyBytes = encoding.key;
  const type = typeof value;
  if (type === "string") {
    const values = encoding.values;
    if (values !== undefined && (value as string).length <= REPEATED_VALUE_MAX_LENGTH) {
      const pair = repeatedPair(encoding, values, value as string);
      if (pair !== undefined) {
        writer.ensure(10 + 10 + pair.length);
        writer.varintUnchecked(tag);
        writer.varintUnchecked(pair.length);
        writer.copyBytes(pair);
        return;
      }
    }
    writeStringAttribute(writer, encodedKeyBytes, value as string, tag);
    return;
  }
  if (type === "number") {
    const number = value as number;
    if (Number.isInteger(number) && number >= MIN_INT64 && number < MAX_INT64) {
      writeFixedValueHead(writer, encodedKeyBytes, tag, 1 + varintSize(number));
      writer.byte((3 << 3) | 0);
      writer.varintUnchecked(number);
    } else {
      writeFixedValueHead(writer, encodedKeyBytes, tag, 9);
      writer.byte((4 << 3) | 1);
      writer.buffer.writeDoubleLE(number, writer.pos);
      writer.pos += 8;
    }
    return;
  }
  if (type === "boolean") {
    writeFixedValueHead(writer, encodedKeyBytes, tag, 2);
    writer.byte((2 << 3) | 0);
    writer.byte(value ? 1 : 0);
    return;
  }
  writer.varint(tag);
  const pair = writer.start();
  writer.ensure(encodedKeyBytes.length);
  writer.copyBytes(encodedKeyBytes);
  writer.tag(2, 2);
  const inner = writer.start();
  writeAnyValue(writer, value as AnyValue);
  writer.finish(inner);
  writer.finish(pair);
}

/** Repeated KeyValue under `field`. */
function writeAttributes(writer: Writer, attributes: Record<string, unknown>, field: number): void {
  const tag = (field << 3) | 2;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    writeAttribute(writer, key, attributes[key], tag);
  }
}

/**
 * A span that can write its attributes itself, one `setAttribute` at a time, instead of building
 * an attributes object first (llmux's call and attempt spans built from records: call-spans.ts).
 * The encoder then writes each attribute straight into the request. Until something reads
 * `attributes`, which then builds the object (and from then on is what the encoder reads).
 */
export interface DirectAttributeSpan {
  /** false until `attributes` was read (built); then the encoder reads the object. */
  readonly attributesBuilt: boolean;
  /** The provider's span limits, applied as Span.setAttribute applies them. */
  readonly attributeCountLimit: number;
  readonly attributeValueLengthLimit: number;
  /** true when a key may be set twice (checked then; an object keeps its first position). */
  readonly mayRepeatKeys: boolean;
  /** Writes the span's attributes, in order, to `out` (may throw on a malformed record). */
  writeAttributesTo(out: { setAttribute(key: string, value: AttributeValue): unknown }): void;
}

function isDirect(span: ReadableSpan): span is ReadableSpan & DirectAttributeSpan {
  const direct = span as ReadableSpan & Partial<DirectAttributeSpan>;
  return typeof direct.writeAttributesTo === "function" && direct.attributesBuilt === false;
}

/** A string or string array cut to `limit` characters, as the SDK's Span.setAttribute does. */
export function truncateAttribute(value: AttributeValue, limit: number): AttributeValue {
  if (typeof value === "string") return value.length > limit ? value.slice(0, limit) : value;
  if (Array.isArray(value))
    return value.map((item) =>
      typeof item === "string" && item.length > limit ? item.slice(0, limit) : item,
    ) as AttributeValue;
  return value;
}

const SPAN_ATTRIBUTE_TAG = (9 << 3) | 2;

/**
 * The attribute target of a direct span: each value is encoded as it is set. A key set twice
 * (looked for only when the span says it may happen) or one past the count limit (an attributes
 * object would keep the first position with the last value, or count a drop) stops it: the caller
 * rewinds and encodes the built object instead.
 */
class DirectAttributeWriter {
  writer: Writer | undefined;
  private readonly seen = new Set<string>();
  private count = 0;
  private countLimit = 128;
  private lengthLimit = Number.POSITIVE_INFINITY;
  private checkRepeats = true;
  failed = false;

  reset(writer: Writer, countLimit: number, lengthLimit: number, checkRepeats: boolean): void {
    this.writer = writer;
    this.checkRepeats = checkRepeats;
    if (checkRepeats) this.seen.clear();
    this.count = 0;
    this.countLimit = countLimit;
    this.lengthLimit = lengthLimit;
    this.failed = false;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (value === undefined || value === null || this.failed) return this;
    if (this.count >= this.countLimit) {
      this.failed = true;
      return this;
    }
    if (this.checkRepeats) {
      const seen = this.seen;
      if (seen.has(key)) {
        this.failed = true;
        return this;
      }
      seen.add(key);
    }
    this.count++;
    const written =
      this.lengthLimit === Number.POSITIVE_INFINITY ? value : truncateAttribute(value, this.lengthLimit);
    writeAttribute(this.writer as Writer, key, written, SPAN_ATTRIBUTE_TAG);
    return this;
  }
}

const directWriter = new DirectAttributeWriter();

/** A span's attributes (field 9) and their dropped count (field 10). */
function writeSpanAttributes(writer: Writer, span: ReadableSpan): void {
  if (isDirect(span)) {
    const mark = writer.pos;
    directWriter.reset(writer, span.attributeCountLimit, span.attributeValueLengthLimit, span.mayRepeatKeys);
    let failed: boolean;
    try {
      span.writeAttributesTo(directWriter);
      failed = directWriter.failed;
    } catch {
      failed = true;
    }
    directWriter.writer = undefined;
    if (!failed) {
      writer.tag(10, 0);
      writer.varint(0);
      return;
    }
    // a repeated key, a limit reached or a malformed record: the built object decides
    writer.pos = mark;
  }
  if (span.attributes) writeAttributes(writer, span.attributes, 9);
  writer.tag(10, 0);
  writer.varint(span.droppedAttributesCount);
}

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  let flags = (traceFlags & 0xff) | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE;
  if (isRemote) flags |= SPAN_FLAGS_CONTEXT_IS_REMOTE;
  return flags;
}

function writeStatus(writer: Writer, status: ReadableSpan["status"]): void {
  const start = writer.start();
  if (status.message) {
    writer.tag(2, 2);
    writer.string(status.message);
  }
  writer.tag(3, 0);
  writer.varint(status.code);
  writer.finish(start);
}

function writeEvent(writer: Writer, event: ReadableSpan["events"][number]): void {
  const start = writer.start();
  writer.tag(1, 1);
  writer.hrTime(event.time);
  writer.tag(2, 2);
  writer.string(event.name);
  if (event.attributes) writeAttributes(writer, event.attributes, 3);
  writer.tag(4, 0);
  writer.varint(event.droppedAttributesCount || 0);
  writer.finish(start);
}

function writeLink(writer: Writer, link: ReadableSpan["links"][number]): void {
  const start = writer.start();
  const context: SpanContext = link.context;
  writer.tag(1, 2);
  writer.hex(context.traceId);
  writer.tag(2, 2);
  writer.hex(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    writer.tag(3, 2);
    writer.string(traceState);
  }
  if (link.attributes) writeAttributes(writer, link.attributes, 4);
  writer.tag(5, 0);
  writer.varint(link.droppedAttributesCount || 0);
  const flags = spanFlags(context.traceFlags, context.isRemote);
  if (flags) {
    writer.tag(6, 5);
    writer.fixed32(flags);
  }
  writer.finish(start);
}

/**
 * A span whose OTLP `Span` message is encoded already (llmux's call and attempt spans, encoded when
 * the call tracer drains its records, so the records and the call's events they hold are not kept
 * alive until the export: see encodeSpanMessages). The encoder copies the bytes.
 *
 * The bytes are a latin1 string (character i is byte i), not a Buffer: they wait in the batch
 * processor's queue long enough to survive young-generation collections, and a Buffer's memory,
 * malloc'd outside V8's heap, is then returned only by a full collection, which V8 holds off while
 * external memory is under its allowance (about 64 MB). Measured on the bench's "everything on"
 * server after 50k calls: the process's malloc heap held 26 MB with Buffers, 7 MB with strings,
 * which V8 collects and compacts as it does its own objects. (A message of about 1 MB or more,
 * a very long prompt or answer captured, becomes an external string, malloc'd again: Node's
 * threshold for latin1 decoding.)
 */
export interface PreEncodedSpan {
  /** The `Span` message's content (without its tag and length) as latin1, or undefined while not encoded. */
  readonly encodedSpan: string | undefined;
}

/**
 * A span that holds its start and end as epoch milliseconds (llmux's record spans, whose
 * `startTime` and `endTime` make their [seconds, nanoseconds] arrays when read): the encoder
 * writes the times from these, without the arrays.
 */
export interface EpochMillisSpan {
  readonly startEpochMillis: number;
  readonly endEpochMillis: number;
}

function writeSpan(writer: Writer, span: ReadableSpan): void {
  const encoded = (span as ReadableSpan & Partial<PreEncodedSpan>).encodedSpan;
  if (encoded !== undefined) {
    writer.latin1Bytes(encoded);
    return;
  }
  // the length prefix sized for the last batch's bytes per span: a span whose length needs as many
  // varint bytes (128 B-16 KiB for the usual 2-3 KB) is not moved
  const expected = bytesPerSpan;
  const start = writer.start(expected);
  writeSpanFields(writer, span);
  writer.finish(start, expected);
}

/** The fields of a `Span` message. */
function writeSpanFields(writer: Writer, span: ReadableSpan): void {
  const context = span.spanContext();
  writer.tag(1, 2);
  writer.hex(context.traceId);
  writer.tag(2, 2);
  writer.hex(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    writer.tag(3, 2);
    writer.string(traceState);
  }
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    writer.tag(4, 2);
    writer.hex(parent.spanId);
  }
  writer.tag(5, 2);
  writer.string(span.name);
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    writer.tag(6, 0);
    writer.varint(kind);
  }
  const millis = span as ReadableSpan & Partial<EpochMillisSpan>;
  const startMillis = millis.startEpochMillis;
  const endMillis = millis.endEpochMillis;
  writer.tag(7, 1);
  if (startMillis !== undefined) writer.epochMillis(startMillis);
  else writer.hrTime(span.startTime);
  writer.tag(8, 1);
  if (endMillis !== undefined) writer.epochMillis(endMillis);
  else writer.hrTime(span.endTime);
  writeSpanAttributes(writer, span);
  for (const event of span.events) {
    writer.tag(11, 2);
    writeEvent(writer, event);
  }
  writer.tag(12, 0);
  writer.varint(span.droppedEventsCount);
  for (const link of span.links) {
    writer.tag(13, 2);
    writeLink(writer, link);
  }
  writer.tag(14, 0);
  writer.varint(span.droppedLinksCount);
  writer.tag(15, 2);
  writeStatus(writer, span.status);
  const flags = spanFlags(context.traceFlags, parent?.isRemote);
  if (flags) {
    writer.tag(16, 5);
    writer.fixed32(flags);
  }
}

/** The buffer encodeSpanMessages writes into, kept between batches while it is at most this large. */
const SCRATCH_KEPT_BYTES = 1024 * 1024;
let scratch: Writer | undefined;

/**
 * Each span's `Span` message (its content, as encodeTraceExportRequest writes it inside the
 * request) as a latin1 string (see PreEncodedSpan): a request made of spans carrying these as
 * `encodedSpan` is the same as one encoded from the spans themselves. The spans are written into
 * a buffer kept from the batch before (while it is large enough and at most SCRATCH_KEPT_BYTES) and
 * copied out.
 */
export function encodeSpanMessages(spans: readonly ReadableSpan[]): string[] {
  const writer =
    scratch !== undefined && scratch.buffer.length >= spans.length * bytesPerSpan
      ? scratch
      : new Writer(Math.max(4096, spans.length * bytesPerSpan));
  scratch = undefined;
  writer.pos = 0;
  const messages: string[] = [];
  let start = 0;
  for (const span of spans) {
    writeSpanFields(writer, span);
    messages.push(writer.buffer.toString("latin1", start, writer.pos));
    start = writer.pos;
  }
  if (spans.length > 0) bytesPerSpan = Math.max(256, Math.ceil((writer.pos / spans.length) * 1.25));
  if (writer.buffer.length <= SCRATCH_KEPT_BYTES) scratch = writer;
  return messages;
}

type Scope = ReadableSpan["instrumentationScope"] & {
  attributes?: Record<string, unknown>;
  droppedAttributesCount?: number;
};

function writeScope(writer: Writer, scope: Scope): void {
  writer.tag(1, 2);
  const start = writer.start();
  writer.tag(1, 2);
  writer.string(scope.name);
  if (scope.version) {
    writer.tag(2, 2);
    writer.string(scope.version);
  }
  if (scope.attributes) writeAttributes(writer, scope.attributes, 3);
  if (scope.droppedAttributesCount) {
    writer.tag(4, 0);
    writer.varint(scope.droppedAttributesCount);
  }
  writer.finish(start);
}

function writeResource(writer: Writer, resource: ReadableSpan["resource"]): void {
  writer.tag(1, 2);
  const start = writer.start();
  if (resource.attributes) writeAttributes(writer, resource.attributes, 1);
  writer.tag(2, 0);
  writer.varint(0);
  writer.finish(start);
}

/** ExportTraceServiceRequest of `spans`, grouped by resource and scope (by identity), in order. */
export function encodeTraceExportRequest(spans: readonly ReadableSpan[]): Uint8Array {
  const byResource = new Map<ReadableSpan["resource"], Map<Scope, ReadableSpan[]>>();
  for (const span of spans) {
    let byScope = byResource.get(span.resource);
    if (!byScope) {
      byScope = new Map();
      byResource.set(span.resource, byScope);
    }
    let list = byScope.get(span.instrumentationScope);
    if (!list) {
      list = [];
      byScope.set(span.instrumentationScope, list);
    }
    list.push(span);
  }
  const writer = new Writer(Math.max(256, spans.length * bytesPerSpan + 1024));
  for (const [resource, byScope] of byResource) {
    // the messages' sizes as the last batch's spans suggest: their length prefixes are reserved
    // at that size, so that these messages, which hold every span, are not moved when finished
    let resourceExpected = 0;
    for (const list of byScope.values()) resourceExpected += list.length * bytesPerSpan;
    writer.tag(1, 2);
    const resourceSpans = writer.start(resourceExpected);
    writeResource(writer, resource);
    for (const [scope, list] of byScope) {
      const scopeExpected = list.length * bytesPerSpan;
      writer.tag(2, 2);
      const scopeSpans = writer.start(scopeExpected);
      writeScope(writer, scope);
      for (const span of list) {
        writer.tag(2, 2);
        writeSpan(writer, span);
      }
      if (scope.schemaUrl) {
        writer.tag(3, 2);
        writer.string(scope.schemaUrl);
      }
      writer.finish(scopeSpans, scopeExpected);
    }
    if (resource.schemaUrl) {
      writer.tag(3, 2);
      writer.string(resource.schemaUrl);
    }
    writer.finish(resourceSpans, resourceExpected);
  }
  if (spans.length > 0) bytesPerSpan = Math.max(256, Math.ceil((writer.pos / spans.length) * 1.25));
  return writer.buffer.subarray(0, writer.pos);
}
