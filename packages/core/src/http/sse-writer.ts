import type { ServerResponse } from "node:http";

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

  open(status: number, headers: Record<string, string>): void {
    this.response.writeHead(status, {
      ...headers,
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

  end(final?: string): void {
    if (this.isClosed) return;
    this.response.end(final);
  }
}
