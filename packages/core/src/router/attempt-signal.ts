/**
 * What the upstream request needs of an abort signal: undici's `request` reads `aborted` and `reason`
 * and adds one "abort" listener (any EventTarget-like object will do).
 */
export interface UpstreamSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * An attempt's abort (client disconnect, timeout, `abort()`), kept cheap: Node's AbortController (an
 * EventTarget with its prototype swapped, several microseconds to make and slow to listen to) is made
 * only when something reads `signal` (a custom provider, a backoff sleep); the built-in providers hand
 * the attempt signal itself to the upstream request. Listeners are called once, without an event.
 */
export class AttemptSignal implements UpstreamSignal {
  aborted = false;
  reason: unknown = undefined;
  private listener: (() => void) | undefined = undefined;
  private listeners: Array<() => void> | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  /** An AbortSignal aborted with the same reason (made on first use; aborted already if this is). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listener = this.listener;
    const listeners = this.listeners;
    this.listener = undefined;
    this.listeners = undefined;
    if (listener !== undefined) call(listener);
    if (listeners !== undefined) for (const each of listeners) call(each);
  }

  addEventListener(type: "abort", listener: () => void): void {
    if (type !== "abort" || this.aborted) return;
    if (this.listener === undefined && this.listeners === undefined) this.listener = listener;
    else {
      this.listeners ??= [];
      this.listeners.push(listener);
    }
  }

  removeEventListener(type: "abort", listener: () => void): void {
    if (type !== "abort") return;
    if (this.listener === listener) {
      this.listener = undefined;
      return;
    }
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const index = listeners.indexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
  }
}

function call(listener: () => void): void {
  try {
    listener();
  } catch {
    // a listener never stops the others (as with an EventTarget)
  }
}
