import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@llmux/callbacks";
import { createGateway, createHandler, type Gateway, type LlmuxConfig } from "@llmux/core";

export interface Instance {
  gateway: Gateway;
  base: string;
  logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** One gateway instance served over HTTP on a free port (as one task behind a load balancer). */
export async function startInstance(
  config: LlmuxConfig,
  env: Record<string, string> = {},
): Promise<Instance> {
  const logs: Instance["logs"] = [];
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      logs.push({ level, message, ...(fields ? { fields } : {}) });
    };
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  const gateway = createGateway({ config, env, logger, quietOpenWarning: true });
  await gateway.ready;
  const handler = createHandler(gateway);
  const server: Server = createServer((request, response) => {
    handler(request, response).then((handled) => {
      if (!handled) {
        response.statusCode = 404;
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    gateway,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logs,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gateway.shutdown();
    },
  };
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer of any shape
  json: any;
  milliseconds: number;
}

export async function chat(base: string, body: Record<string, unknown>): Promise<CallResult> {
  const started = performance.now();
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    text,
    json,
    milliseconds: performance.now() - started,
  };
}

/** Waits until `condition` holds, checking every 20 ms, at most `timeoutMs`; returns whether it held. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

/** Waits, if needed, so that at least `marginMs` remain in the current minute (rpm windows are minutes). */
export async function awayFromMinuteEdge(marginMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
