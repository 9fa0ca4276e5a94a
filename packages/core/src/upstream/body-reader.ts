import type { Readable } from "node:stream";

/**
 * Pulls decoded text from an upstream body with plain listeners: no async iterator (whose early exit
 * destroys the body with a fresh AbortError and its stack trace on every stream), pausing the socket
 * while the consumer is behind (backpressure).
 */
export class BodyReader {
  private readonly decoder = new TextDecoder();
  private readonly queue: string[] = [];
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(private readonly body: Readable) {
    body.on("data", this.onData);
    body.on("end", this.onEnd);
    body.on("error", this.onError);
  }

  private readonly onData = (bytes: Uint8Array) => {
    this.queue.push(this.decoder.decode(bytes, { stream: true }));
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

  /** The next piece of text, or undefined at the end of the body. Rejects with the body's error. */
  async next(): Promise<string | undefined> {
    while (true) {
      const text = this.queue.shift();
      if (text !== undefined) {
        if (this.queue.length < 4 && this.body.isPaused()) this.body.resume();
        return text;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
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
    if (this.ended || this.body.destroyed) return;
    if (complete) {
      this.body.on("error", () => undefined);
      this.body.resume();
    } else {
      this.body.destroy();
    }
  }
}
