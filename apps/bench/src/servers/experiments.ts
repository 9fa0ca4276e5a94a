/**
 * What-if experiments: proposed changes to @llmux/core, tried from the outside (patching exported
 * classes or adding host middleware) so their effect can be measured in the same run as the code
 * as it is, before anyone changes core. Enabled per server by BENCH_EXPERIMENTS=a,b (the bench's
 * `--experiment a,b` adds an `llmux-express-all+a,b` target). Never used by the default targets.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayOptions } from "@llmux/core";
import { SseWriter } from "@llmux/core";

export const EXPERIMENTS = ["sse-cork", "fast-body", "no-express", "no-pricing", "otel-noexport"] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

export function enabledExperiments(): ExperimentName[] {
  const names = (process.env.BENCH_EXPERIMENTS ?? "").split(",").filter(Boolean);
  for (const name of names)
    if (!(EXPERIMENTS as readonly string[]).includes(name))
      throw new Error(`unknown experiment ${name} (known: ${EXPERIMENTS.join(", ")})`);
  return names as ExperimentName[];
}

interface SseWriterInternals {
  response: ServerResponse;
  isClosed: boolean;
  drain(): Promise<void>;
}

/**
 * sse-cork: the SSE writer neither flushes the headers on their own (the first chunk is already in
 * hand when the stream opens: the router waits for it) nor writes each event separately: the
 * response is corked on the first write of a tick and uncorked on the next tick, so every event
 * decoded from one upstream read (and the end of the stream when it is there too) leaves in one
 * writev with the headers.
 */
function patchSseCork(): void {
  const proto = SseWriter.prototype as unknown as SseWriterInternals & {
    open(status: number, headers: Record<string, string>): void;
    data(payload: string, event?: string): Promise<void>;
  };
  proto.open = function open(this: SseWriterInternals, status, headers) {
    this.response.writeHead(status, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    this.response.socket?.setNoDelay(true);
  };
  proto.data = async function data(this: SseWriterInternals, payload, event) {
    if (this.isClosed) return;
    const response = this.response;
    if (!response.writableCorked) {
      response.cork();
      process.nextTick(() => response.uncork());
    }
    const text = event ? `event: ${event}\ndata: ${payload}\n\n` : `data: ${payload}\n\n`;
    if (!response.write(text)) await this.drain();
  };
}

/**
 * fast-body: the request body read with 'data'/'end' listeners and parsed before the gateway (as
 * a host body parser would), instead of core's `for await` over the request (an async iterator,
 * a promise per chunk). The gateway then takes the parsed body (hostParsedBody).
 */
export function fastBodyMiddleware(
  request: IncomingMessage & { body?: unknown },
  response: ServerResponse,
  next: (error?: unknown) => void,
): void {
  if (request.method !== "POST") {
    next();
    return;
  }
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    try {
      const text = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8");
      request.body = JSON.parse(text);
      next();
    } catch (error) {
      response.statusCode = 400;
      response.end();
      next(error);
    }
  });
  request.on("error", next);
}

export function applyExperiments(names: ExperimentName[]): void {
  if (names.includes("sse-cork")) patchSseCork();
}

/**
 * Experiments that change the gateway options:
 * - no-pricing: a pricing stub that prices nothing (what pricing costs per call);
 * - otel-noexport: llmux's call and attempt spans made as usual but handed to an exporter that
 *   drops them (what the span export costs: OTLP serialisation and HTTP), instead of `callbacks: [otel]`.
 * (no-express, handled by the server: the handler on a bare node:http server, what Express costs.)
 */
export async function experimentOptions(
  names: ExperimentName[],
  options: GatewayOptions,
): Promise<GatewayOptions> {
  let result = options;
  if (names.includes("no-pricing")) {
    result = {
      ...result,
      pricing: {
        cost: () => ({ cost: null, reason: "bench: no-pricing experiment" }),
        unknownModelWarnings: () => ({}),
      },
    };
  }
  if (names.includes("otel-noexport")) {
    const config = result.config as { litellm_settings?: { callbacks?: string[] } };
    const callbacks = config.litellm_settings?.callbacks ?? [];
    if (callbacks.includes("otel")) {
      // loaded only here, so the other servers do not carry the OpenTelemetry SDK
      const { addSpanExporter, getSharedCallTracer } = await import("@llmux/otel");
      config.litellm_settings!.callbacks = callbacks.filter((name) => name !== "otel");
      addSpanExporter(
        {
          export: (_spans, done) => done({ code: 0 }),
          shutdown: async () => undefined,
          forceFlush: async () => undefined,
        },
        { name: "bench-drop" },
      );
      const tracer = getSharedCallTracer({ captureContent: true });
      result = { ...result, plugins: [...(result.plugins ?? []), { name: "otel-noexport", tracer }] };
    }
  }
  return result;
}
