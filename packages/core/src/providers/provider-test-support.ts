/**
 * Test support for the provider and /v1/messages tests: a real gateway + HTTP handler on
 * 127.0.0.1 port 0, recording every final call event. Not part of the package's API.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CallbackSink, CallEvent } from "@llmux/callbacks";
import type { LlmuxConfig } from "../config/types";
import { createGateway, type Gateway } from "../gateway/create-gateway";
import type { GatewayOptions } from "../gateway/types";
import { createHandler } from "../http/create-handler";

export interface TestGateway {
  /** e.g. http://127.0.0.1:41234 (the gateway's routes are under /v1). */
  url: string;
  gateway: Gateway;
  /** Final call events (success and failure), in delivery order. */
  events: CallEvent[];
  /** Delivers queued events, then returns them. */
  flushEvents(): Promise<CallEvent[]>;
  close(): Promise<void>;
}

export async function startTestGateway(
  config: LlmuxConfig,
  options: Partial<GatewayOptions> = {},
): Promise<TestGateway> {
  const events: CallEvent[] = [];
  const sink: CallbackSink = {
    name: "test-memory",
    onSuccess: (event) => void events.push(event),
    onFailure: (event) => void events.push(event),
  };
  const gateway = createGateway({
    config,
    quietOpenWarning: true,
    ...options,
    sinks: [sink, ...(options.sinks ?? [])],
  });
  await gateway.ready;
  const handler = createHandler(gateway);
  const server: Server = createServer((request, response) => {
    handler(request, response).then(
      (handled) => {
        if (!handled) {
          response.writeHead(404, { "content-type": "application/json" });
          response.end('{"error":"not found"}');
        }
      },
      () => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    gateway,
    events,
    async flushEvents() {
      await gateway.flush();
      return events;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.shutdown();
    },
  };
}
