/**
 * One request/response pair inside the mock: cancellable waits, the common fault steps
 * (hang, latency, error status, retry headers) and the chunk writer every streaming shape uses.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Fault, RecordedRequest } from "./types.js";

/** Writes an error answer in the route's provider shape. */
export type ErrorWriter = (exchange: Exchange, status: number, message: string) => void;

export interface ExchangeSettings {
  words: number;
  chunkDelayMs: number;
}

export class Exchange {
  /** True once the connection closed (client gone, response finished, or destroyed). */
  closed = false;
  /** True when the mock itself cut the connection (disconnectAfterChunks, close()). */
  cutByServer = false;
  /** The request path exactly as received (scenario prefix and percent-encoding intact, no query). */
  rawPath = "";
  private pendingTimer: NodeJS.Timeout | undefined;
  private pendingWake: ((open: boolean) => void) | undefined;

  constructor(
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    readonly record: RecordedRequest,
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape.
    readonly body: any,
    readonly rawBody: Buffer,
    readonly fault: Fault | undefined,
    readonly settings: ExchangeSettings,
  ) {}

  /** Called by the server when the response closes. */
  onClose(): void {
    this.closed = true;
    if (this.pendingTimer !== undefined) {
      clearTimeout(this.pendingTimer);
      this.pendingTimer = undefined;
      const wake = this.pendingWake;
      this.pendingWake = undefined;
      wake?.(false);
    }
  }

  /** Waits `milliseconds`; resolves false (early) when the connection closes meanwhile. */
  wait(milliseconds: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (milliseconds <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.pendingWake = resolve;
      this.pendingTimer = setTimeout(() => {
        this.pendingTimer = undefined;
        this.pendingWake = undefined;
        resolve(!this.closed);
      }, milliseconds);
    });
  }

  get chunkDelayMs(): number {
    return this.fault?.chunkDelayMs ?? this.settings.chunkDelayMs;
  }

  /** Headers every answer of this exchange carries (retry hints of the fault). */
  faultHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
    const fault = this.fault;
    if (fault === undefined) return headers;
    if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
    if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
    if (fault.headers) Object.assign(headers, fault.headers);
    return headers;
  }

  /**
   * The fault steps common to every route. Returns true when the normal answer should follow,
   * false when the exchange is already handled (hanging, errored, closed).
   */
  async prelude(stream: boolean, writeError: ErrorWriter): Promise<boolean> {
    const fault = this.fault;
    if (fault === undefined) return true;
    if (fault.hang) return false;
    let delay = fault.latencyMs ?? 0;
    if (!stream) delay += fault.firstChunkDelayMs ?? 0;
    if (delay > 0 && !(await this.wait(delay))) return false;
    if (this.closed) return false;
    if (fault.body !== undefined) {
      this.sendBody(fault.status ?? 200, fault.body);
      return false;
    }
    if (fault.status !== undefined && fault.status >= 400) {
      writeError(this, fault.status, defaultMessage(fault.status));
      return false;
    }
    return true;
  }

  /** Sends a complete JSON answer (a string body is sent as-is). */
  sendJson(status: number, payload: unknown, extraHeaders?: OutgoingHttpHeaders): void {
    this.sendText(
      status,
      typeof payload === "string" ? payload : JSON.stringify(payload),
      "application/json",
      extraHeaders,
    );
  }

  /** Sends a fault's custom body: objects as JSON, strings and buffers as-is. */
  sendBody(status: number, body: unknown): void {
    if (typeof body === "string") this.sendText(status, body, "application/json");
    else if (Buffer.isBuffer(body)) this.sendBuffer(status, body, "application/octet-stream");
    else this.sendJson(status, body);
  }

  sendText(status: number, text: string, contentType: string, extraHeaders?: OutgoingHttpHeaders): void {
    if (this.closed) return;
    const headers: OutgoingHttpHeaders = {
      "content-type": contentType,
      "content-length": Buffer.byteLength(text),
      ...extraHeaders,
    };
    if (this.fault?.disconnectAfterChunks !== undefined) {
      // Headers and the first half of the body, then the connection drops.
      this.response.writeHead(status, this.faultHeaders(headers));
      this.response.write(text.slice(0, Math.floor(text.length / 2)));
      this.cut();
      return;
    }
    this.response.writeHead(status, this.faultHeaders(headers));
    this.response.end(text);
  }

  sendBuffer(
    status: number,
    body: Uint8Array,
    contentType: string,
    extraHeaders?: OutgoingHttpHeaders,
  ): void {
    if (this.closed) return;
    const headers: OutgoingHttpHeaders = {
      "content-type": contentType,
      "content-length": body.byteLength,
      ...extraHeaders,
    };
    this.response.writeHead(status, this.faultHeaders(headers));
    this.response.end(body);
  }

  /**
   * Destroys the connection after flushing what was written. The end waits one turn of the event loop:
   * Node 24 corks a response's writes until the next tick, so ending the socket at once sent the FIN
   * before the headers and chunks written just before (the client read 0 bytes).
   */
  cut(): void {
    this.cutByServer = true;
    const socket = this.response.socket;
    if (socket === null || socket.destroyed) return;
    setImmediate(() => {
      if (socket.destroyed) return;
      socket.end();
      socket.once("finish", () => socket.destroy());
      // A peer that never reads must not keep the socket alive.
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  /**
   * Streams pre-rendered chunks: headers at once, `firstChunkDelayMs`, then one chunk every `chunkDelayMs`
   * (all in one write when there is no delay), honouring `disconnectAfterChunks`. `tail` (the stream
   * terminator, e.g. `data: [DONE]`) is written after the last chunk and is not counted as a chunk.
   */
  async stream(
    contentType: string,
    chunks: ReadonlyArray<string | Uint8Array>,
    tail?: string | Uint8Array,
    extraHeaders?: OutgoingHttpHeaders,
  ): Promise<void> {
    if (this.closed) return;
    const response = this.response;
    response.writeHead(
      200,
      this.faultHeaders({ "content-type": contentType, "cache-control": "no-cache", ...extraHeaders }),
    );
    const fault = this.fault;
    const firstDelay = fault?.firstChunkDelayMs ?? 0;
    const delay = this.chunkDelayMs;
    const disconnectAfter = fault?.disconnectAfterChunks;
    if (firstDelay > 0 || disconnectAfter === 0) {
      response.flushHeaders();
      if (firstDelay > 0 && !(await this.wait(firstDelay))) return;
    }
    if (disconnectAfter !== undefined) {
      const count = Math.min(disconnectAfter, chunks.length);
      for (let index = 0; index < count; index++) {
        if (index > 0 && delay > 0 && !(await this.wait(delay))) return;
        response.write(chunks[index]!);
      }
      this.cut();
      return;
    }
    if (delay <= 0) {
      if (typeof tail === "string" && allStrings(chunks)) {
        response.end(chunks.length === 0 ? tail : (chunks as string[]).join("") + tail);
        return;
      }
      for (const chunk of chunks) response.write(chunk);
      if (tail !== undefined) response.end(tail);
      else response.end();
      return;
    }
    for (let index = 0; index < chunks.length; index++) {
      if (index > 0 && !(await this.wait(delay))) return;
      response.write(chunks[index]!);
    }
    if (this.closed) return;
    if (tail !== undefined) response.end(tail);
    else response.end();
  }
}

function allStrings(chunks: ReadonlyArray<string | Uint8Array>): chunks is ReadonlyArray<string> {
  for (const chunk of chunks) if (typeof chunk !== "string") return false;
  return true;
}

const STATUS_MESSAGES: Record<number, string> = {
  400: "Mock bad request",
  401: "Mock authentication error: invalid API key",
  403: "Mock permission denied",
  404: "Mock model not found",
  408: "Mock request timeout",
  409: "Mock conflict",
  413: "Mock request too large",
  422: "Mock unprocessable entity",
  429: "Mock rate limit exceeded",
  500: "Mock internal server error",
  502: "Mock bad gateway",
  503: "Mock service unavailable",
  504: "Mock gateway timeout",
  529: "Mock overloaded",
};

export function defaultMessage(status: number): string {
  return STATUS_MESSAGES[status] ?? `Mock error ${status}`;
}
