import type { ServerResponse } from "node:http";
import { withCallId } from "./call-id-header";

/** The trailers a priced stream sends after its last event (its cost is unknown when headers leave). */
export const STREAM_TRAILERS: readonly string[] = ["x-llmux-response-cost"];

/** Events held for one write are written at once past this many characters (the socket's 16 KiB mark). */
const WRITE_AT = 16 * 1024;

/** What `data` returns when the socket can take more: one settled promise, shared. */
const WRITABLE: Promise<void> = Promise.resolve();

/**
 * No `connection` header: Node writes `keep-alive` or `close` as the client asked. Setting it here
 * kept the socket open for a client that sent `Connection: close` (Node takes a `connection` header
 * of the response as the server's decision).
 */
const STREAM_HEADERS: ReadonlyArray<[string, string]> = [
  ["content-type", "text/event-stream; charset=utf-8"],
  ["cache-control", "no-cache, no-transform"],
  ["x-accel-buffering", "no"],
];

/**
 * The one Node-native SSE writer: writes `data:` events to the socket as they come, waits for
 * `drain` when the socket buffer is full, and reports a closed client so the caller aborts the
 * upstream. No Web streams, no transforms.
 *
 * The events of one tick (those decoded from one upstream read) leave in one `response.write`: they
 * are joined into one string and written when the tick's microtasks are done (`process.nextTick`),
 * before any I/O, so no event waits for later input. One write instead of one per event saves the
 * per-write work of `node:http` (chunk framing, three socket buffers per write) and leaves one
 * buffer, not three per event, for the socket's `writev`.
 */
export class SseWriter {
  private closed = false;
  private drainWaiter: (() => void) | undefined;
  /** Events not yet handed to the response. */
  private held = "";
  private flushQueued = false;
  private readonly flushHeld = () => {
    this.flushQueued = false;
    if (this.held.length > 0 && !this.isClosed) this.write();
  };

  constructor(private readonly response: ServerResponse) {
    response.on("close", () => {
      this.closed = true;
      this.drainWaiter?.();
    });
  }

  get isClosed(): boolean {
    return this.closed || this.response.destroyed;
  }

  /**
   * Starts the stream. `trailers` names the HTTP trailers `end` will send (declared in the `Trailer`
   * header; Node sends trailers with chunked transfer encoding, i.e. to HTTP/1.1 clients). `headers` is
   * the call's own object (built per call): the stream's headers are added to it, not to a copy.
   */
  open(status: number, headers: Record<string, string>, trailers?: readonly string[]): void {
    const all: Record<string, string> = headers;
    if (trailers && trailers.length > 0) all.trailer = trailers.join(", ");
    for (const [name, value] of STREAM_HEADERS) all[name] = value;
    this.response.writeHead(status, withCallId(this.response, all));
    // No flushHeaders(): the first chunk is already in hand, so the headers leave with it in one write.
    // Small events must leave at once: no Nagle delay on the client socket.
    this.response.socket?.setNoDelay(true);
  }

  /** Writes one event (with the others of this tick); resolves when the socket can take more (backpressure). */
  data(payload: string, event?: string): Promise<void> {
    this.add(payload, event);
    return this.writable();
  }

  /** Holds one event for this tick's write, without asking about backpressure (see `writable`). */
  add(payload: string, event?: string): void {
    if (this.isClosed) return;
    this.held += event ? `event: ${event}\ndata: ${payload}\n\n` : `data: ${payload}\n\n`;
    if (this.held.length >= WRITE_AT) this.write();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.flushHeld);
    }
  }

  /** Resolves when the socket can take more: at once unless a write found its buffer full (then `drain`). */
  writable(): Promise<void> {
    return this.response.writableNeedDrain && !this.isClosed ? this.drain() : WRITABLE;
  }

  private write(): void {
    const text = this.held;
    this.held = "";
    this.response.write(text);
  }

  private drain(): Promise<void> {
    if (this.isClosed) return WRITABLE;
    return new Promise((resolve) => {
      const done = () => {
        this.drainWaiter = undefined;
        this.response.off("drain", done);
        resolve();
      };
      this.drainWaiter = done;
      this.response.once("drain", done);
    });
  }

  /** Ends the stream with the events still held, an optional last write and the trailers declared in `open`. */
  end(final?: string, trailers?: Record<string, string>): void {
    if (this.isClosed) return;
    if (trailers && Object.keys(trailers).length > 0) this.response.addTrailers(trailers);
    const text = final === undefined ? this.held : this.held + final;
    this.held = "";
    if (text.length > 0) this.response.end(text);
    else this.response.end();
  }
}
