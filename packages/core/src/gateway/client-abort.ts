/**
 * A call's client disconnect, kept cheap: Node's AbortController (an EventTarget, several microseconds
 * to make) is made only when something asks for `signal`. The router and the stream driver use
 * `aborted` and `onAbort`, so a call makes one AbortController (its attempt's, for the upstream
 * request), not two.
 */
export class ClientAbort {
  private controller: AbortController | undefined;
  private listeners: Array<() => void> | undefined;
  private gone = false;

  get aborted(): boolean {
    return this.gone;
  }

  /** An AbortSignal aborted when the client leaves (made on first use, aborted already if it left). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** The client left: aborts the signal (if made) and calls the listeners, once. */
  abort(): void {
    if (this.gone) return;
    this.gone = true;
    this.controller?.abort();
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // a listener never stops the others
      }
    }
  }

  /** Calls `listener` once when the client leaves (at once if it has left); returns the unsubscribe. */
  onAbort(listener: () => void): () => void {
    if (this.gone) {
      listener();
      return () => undefined;
    }
    this.listeners ??= [];
    this.listeners.push(listener);
    return () => {
      const listeners = this.listeners;
      if (listeners === undefined) return;
      const index = listeners.indexOf(listener);
      if (index !== -1) listeners.splice(index, 1);
    };
  }
}
