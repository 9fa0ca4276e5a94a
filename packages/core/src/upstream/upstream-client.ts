import { Agent, type Dispatcher, errors as undiciErrors } from "undici";
import { classifyUpstreamFailure } from "../errors/classify";
import { isLlmuxError, LlmuxError } from "../errors/llmux-error";
import type { UpstreamSignal } from "../router/attempt-signal";
import { BodyReader } from "./body-reader";

/**
 * Upstream HTTP through undici's pooled request API: one keep-alive pool per origin (the Agent keeps
 * them), no fetch/Web-stream overhead. Every call carries an AbortSignal (client disconnect and
 * timeouts abort it) and failures come back as classified LlmuxErrors.
 */
export interface UpstreamRequest {
  url: string;
  method?: "GET" | "POST";
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal: UpstreamSignal;
  provider: string;
  deploymentId: string;
  /** A streamed answer: its body is read from the moment the headers arrive (see BodyReader.of). */
  stream?: boolean;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
}

export class UpstreamClient {
  readonly dispatcher: Agent;
  /** Removes configured secrets from upstream texts (error messages) before they become errors. */
  readonly scrub: (text: string) => string;

  /** Sees each upstream answer's status and headers (rate-limit gauges); never throws into a call. */
  private readonly observe:
    | ((request: UpstreamRequest, headers: UpstreamResponse["headers"]) => void)
    | undefined;

  constructor(
    options: {
      connections?: number;
      keepAliveTimeoutMs?: number;
      scrub?: (text: string) => string;
      observeHeaders?: (request: UpstreamRequest, headers: UpstreamResponse["headers"]) => void;
    } = {},
  ) {
    this.scrub = options.scrub ?? ((text) => text);
    this.observe = options.observeHeaders;
    this.dispatcher = new Agent({
      connections: options.connections ?? 256,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      keepAliveMaxTimeout: 600_000,
      // Timeouts are enforced by the router's AbortSignal, which knows the call's budget.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** Sends the request; a non-2xx status is read and thrown as a classified error. */
  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        origin: originOf(request.url),
        path: pathOf(request.url),
        method: request.method ?? "POST",
        headers: request.headers,
        body: request.body ?? null,
        signal: request.signal,
      });
    } catch (error) {
      throw transportError(error, request);
    }
    if (this.observe) {
      try {
        this.observe(request, response.headers);
      } catch {
        // an observer never breaks a call
      }
    }
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (request.stream === true) BodyReader.of(response.body);
      return { status: response.statusCode, headers: response.headers, body: response.body };
    }
    let text = "";
    try {
      text = await response.body.text();
    } catch {
      // the body is optional for classification
    }
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    throw classifyUpstreamFailure({
      status: response.statusCode,
      body: typeof parsed === "string" ? this.scrub(parsed) : scrubDeep(parsed, this.scrub),
      headers: response.headers,
      provider: request.provider,
      deploymentId: request.deploymentId,
    });
  }

  /** Sends and parses a JSON body. */
  async json(
    request: UpstreamRequest,
  ): Promise<{ status: number; headers: UpstreamResponse["headers"]; data: unknown; text: string }> {
    const response = await this.send(request);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw transportError(error, request);
    }
    try {
      return { status: response.status, headers: response.headers, data: JSON.parse(text), text };
    } catch {
      throw new LlmuxError({
        kind: "server_error",
        message: `${request.provider} returned a body that is not valid JSON`,
        provider: request.provider,
        deploymentId: request.deploymentId,
      });
    }
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** Maps transport failures (abort, reset, refused, DNS) to classified errors. */
export function transportError(
  error: unknown,
  request: { provider: string; deploymentId: string; signal: UpstreamSignal },
): LlmuxError {
  if (isLlmuxError(error)) return error;
  if (request.signal.aborted) {
    const reason = request.signal.reason;
    if (isLlmuxError(reason)) return reason;
    return new LlmuxError({
      kind: "aborted",
      message: "The call was aborted",
      provider: request.provider,
      deploymentId: request.deploymentId,
    });
  }
  const code = (error as { code?: string } | undefined)?.code;
  const isTimeout =
    error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError;
  return new LlmuxError({
    kind: isTimeout ? "timeout" : "connection",
    message: `${request.provider} connection failed${code ? ` (${code})` : ""}`,
    provider: request.provider,
    deploymentId: request.deploymentId,
    cause: error,
  });
}

const originCache = new Map<string, { origin: string; path: string }>();

function split(url: string): { origin: string; path: string } {
  let entry = originCache.get(url);
  if (!entry) {
    const parsed = new URL(url);
    entry = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (originCache.size < 10_000) originCache.set(url, entry);
  }
  return entry;
}

function originOf(url: string): string {
  return split(url).origin;
}

function pathOf(url: string): string {
  return split(url).path;
}

/** Scrubs every string of a parsed JSON error body. */
function scrubDeep(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === "string") return scrub(value);
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, scrub));
  if (value && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = scrubDeep(item, scrub);
    return result;
  }
  return value;
}
