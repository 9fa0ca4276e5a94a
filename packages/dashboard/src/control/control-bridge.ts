import { IncomingMessage, type ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { PluginRoute } from "@llmux/callbacks";

/** A route's handler with the access the gateway resolved (4th argument; admin here). */
type RouteHandle = (
  request: IncomingMessage,
  response: ServerResponse,
  body: unknown,
  access: { admin: true },
) => void | Promise<void>;

/**
 * The control plane (@llmux/control) as the dashboard uses it: through its own LiteLLM-compatible
 * admin routes (`/key/*`, `/spend/logs`), called in process on the gateway's route table, so the
 * dashboard has no second API and no database code. Present when those routes are registered.
 */
export class ControlBridge {
  constructor(private readonly routes: () => PluginRoute[]) {}

  /** true when the control plane's key routes are registered. */
  get available(): boolean {
    return this.find("POST", "/key/generate") !== undefined;
  }

  find(method: string, path: string): PluginRoute | undefined {
    return this.routes().find(
      (route) => route.method === method && (route.path === path || route.path === `/v1${path}`),
    );
  }

  /**
   * Hands the browser's request to a control route (already authenticated as admin by the dashboard),
   * with the URL rewritten to the route's: the route writes its LiteLLM-shaped answer itself.
   */
  async forward(
    method: string,
    url: string,
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
  ): Promise<boolean> {
    const route = this.find(method, url.split("?", 1)[0]!);
    if (!route) return false;
    const original = request.url;
    request.url = url;
    try {
      await (route.handle as RouteHandle).call(route, request, response, body, { admin: true });
    } finally {
      request.url = original;
    }
    return true;
  }

  /** Calls a control route in process and returns its status and parsed JSON answer. */
  async call(
    method: string,
    url: string,
    headers: IncomingMessage["headers"],
  ): Promise<{ status: number; body: unknown } | undefined> {
    const route = this.find(method, url.split("?", 1)[0]!);
    if (!route) return undefined;
    const request = new IncomingMessage(new Socket());
    request.method = method;
    request.url = url;
    request.headers = { ...headers };
    request.push(null);
    const capture = new CapturedResponse();
    await (route.handle as RouteHandle).call(
      route,
      request,
      capture as unknown as ServerResponse,
      undefined,
      { admin: true },
    );
    await capture.finished;
    const text = capture.text();
    let body: unknown = text;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: capture.statusCode, body };
  }
}

/** The part of a ServerResponse route handlers use, collecting what they write. */
class CapturedResponse {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  private readonly headers = new Map<string, unknown>();
  private readonly chunks: Buffer[] = [];
  private resolveFinished!: () => void;
  readonly finished = new Promise<void>((resolve) => {
    this.resolveFinished = resolve;
  });

  setHeader(name: string, value: unknown): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }
  getHeader(name: string): unknown {
    return this.headers.get(name.toLowerCase());
  }
  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }
  writeHead(status: number, ...rest: unknown[]): this {
    this.statusCode = status;
    const headers = rest.find((value) => value && typeof value === "object") as
      | Record<string, unknown>
      | undefined;
    if (headers) for (const [name, value] of Object.entries(headers)) this.setHeader(name, value);
    this.headersSent = true;
    return this;
  }
  write(chunk: unknown): boolean {
    this.headersSent = true;
    if (chunk !== undefined && chunk !== null) this.chunks.push(Buffer.from(chunk as string));
    return true;
  }
  end(chunk?: unknown): this {
    if (typeof chunk === "string" || chunk instanceof Uint8Array) this.write(chunk);
    this.headersSent = true;
    this.writableEnded = true;
    this.resolveFinished();
    return this;
  }
  on(): this {
    return this;
  }
  once(): this {
    return this;
  }
  off(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
  destroy(): void {
    this.destroyed = true;
    this.resolveFinished();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
