import type { Gateway, GatewayOptions } from "@llmux/core";

/** A host app of one framework with llmux at /v1, health and metrics at the root, and routes of its own. */
export interface ConformanceServer {
  url: string;
  gateway: Gateway;
  close(): Promise<void>;
}

export interface ServerSettings {
  /** The host parses JSON bodies before the gateway (express.json, koa-bodyparser, Nest's parser). */
  bodyParser: boolean;
}

export type StartServer = (options: GatewayOptions, settings: ServerSettings) => Promise<ConformanceServer>;

/**
 * Every host app serves, besides the gateway: GET /api/ping → {"pong":true} and POST /api/echo →
 * {"body": <the body its parser produced, or null>}.
 */
export interface Framework {
  name: string;
  start: StartServer;
}
