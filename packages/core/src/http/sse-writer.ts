import type { ServerResponse } from "node:http";

/** The trailers a priced stream sends after its last event (its cost is unknown when headers leave). */
export const STREAM_TRAILERS: readonly string[] = ["x-llmux-response-cost"];

/**
 * The one Node-native SSE writer: writes `data:` events straight to the socket as they come, waits
 * for `drain` when the socket buffer is full, and reports a closed client so the caller aborts the
 * upstream. No Web streams, no transforms.
 */
export class SseWriter {
  private closed = false;
  private drainWaiter: (() => void) | undefined;

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
   * header; Node sends trailers with chunked transfer encoding, i.e. to HTTP/1.1 clients).
   */
  open(status: number, headers: Record<string, string>, trailers?: readonly string[]): void {
    this.response.writeHead(status, {
      ...headers,
      ...(trailers && trailers.length > 0 ? { trailer: trailers.join(", ") } : {}),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    // No flushHeaders(): the first chunk is already in hand, so the headers leave with it in one write.
    // Small events must leave at once: no Nagle delay on the client socket.
    this.response.socket?.setNoDelay(true);
  }

  /** Writes one event; resolves when the socket can take more (backpressure). */
  async data(payload: string, event?: string): Promise<void> {
    if (this.isClosed) return;
    const text = event ? `event: ${event}\ndata: ${payload}\n\n` : `data: ${payload}\n\n`;
    if (!this.response.write(text)) await this.drain();
  }

  private drain(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
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

  /** Ends the stream with an optional last write and the trailers declared in `open`. */
  end(final?: string, trailers?: Record<string, string>): void {
    if (this.isClosed) return;
    if (trailers && Object.keys(trailers).length > 0) this.response.addTrailers(trailers);
    this.response.end(final);
  }
}
