import type { Readable } from "node:stream";

const readers = new WeakMap<Readable, BodyReader>();

/**
 * Pulls an upstream body with plain listeners: no async iterator (whose early exit destroys the body
 * with a fresh AbortError and its stack trace on every stream), pausing the socket while the consumer
 * is behind (backpressure).
 *
 * A stream's reader is attached as soon as the upstream's headers arrive (`BodyReader.of` in
 * `UpstreamClient.send`), not when the consumer first asks: a body that errors (an upstream cutting
 * the connection after its first events) destroys its internal buffer, so chunks that arrived before
 * the cut would otherwise be lost, and a body destroyed before any listener never reports its end.
 */
export class BodyReader {
  /** Made when a piece ends inside a character (it keeps the unfinished bytes) or the body starts with a BOM. */
  private decoder: InstanceType<typeof TextDecoder> | undefined;
  private started = false;
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  /** The body's reader, created (and the body set flowing) on first use. */
  static of(body: Readable): BodyReader {
    let reader = readers.get(body);
    if (reader === undefined) {
      reader = new BodyReader(body);
      readers.set(body, reader);
    }
    return reader;
  }

  private constructor(private readonly body: Readable) {
    if (body.errored) this.failure = body.errored;
    else if (body.readableEnded) this.ended = true;
    body.on("data", this.onData);
    body.on("end", this.onEnd);
    body.on("error", this.onError);
  }

  private readonly onData = (bytes: Uint8Array) => {
    this.queue.push(bytes);
    if (this.queue.length >= 16) this.body.pause();
    this.notify();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (error: unknown) => {
    this.failure = error;
    this.notify();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The next piece of decoded text, or undefined at the end of the body. Rejects with the body's error. */
  async next(): Promise<string | undefined> {
    const bytes = await this.nextBytes();
    return bytes === undefined ? undefined : this.decode(bytes);
  }

  /**
   * The text of one piece, as a streaming TextDecoder gives it. A piece that ends on a whole
   * character (an ASCII last byte: SSE events end with a newline) while no bytes are pending is
   * decoded alone (Buffer's UTF-8, no decoder per body); from the first piece that does not, or a
   * leading BOM (which the decoder drops), the body goes through one TextDecoder.
   */
  private decode(bytes: Uint8Array): string {
    const first = !this.started;
    this.started = true;
    if (
      this.decoder === undefined &&
      bytes.length > 0 &&
      bytes[bytes.length - 1]! < 0x80 &&
      !(first && bytes[0] === 0xef)
    ) {
      const buffer = Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      return buffer.toString("utf8");
    }
    this.decoder ??= new TextDecoder();
    return this.decoder.decode(bytes, { stream: true });
  }

  /** The next piece of the body as bytes, or undefined at its end. Rejects with the body's error. */
  async nextBytes(): Promise<Uint8Array | undefined> {
    while (true) {
      const bytes = this.queue.shift();
      if (bytes !== undefined) {
        if (this.queue.length < 4 && this.body.isPaused()) this.body.resume();
        return bytes;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** The body's bytes as an async iterable (for decoders that take one, like Smithy's event streams). */
  async *bytes(): AsyncGenerator<Uint8Array> {
    while (true) {
      const bytes = await this.nextBytes();
      if (bytes === undefined) return;
      yield bytes;
    }
  }

  /**
   * Stops reading. `complete`: the stream's terminator was seen, so the rest (normally nothing) is
   * drained and the socket returns to the pool; otherwise the body is destroyed to stop the upstream.
   */
  close(complete: boolean): void {
    this.body.off("data", this.onData);
    this.body.off("end", this.onEnd);
    this.body.off("error", this.onError);
    readers.delete(this.body);
    const ended = this.ended;
    // a read still waiting (a consumer closed the stream meanwhile) sees the end instead of hanging
    this.ended = true;
    this.queue.length = 0;
    this.notify();
    if (ended || this.body.destroyed) return;
    if (complete) {
      this.body.on("error", () => undefined);
      this.body.resume();
    } else {
      this.body.destroy();
    }
  }
}
