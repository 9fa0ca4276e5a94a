import type { IncomingMessage } from "node:http";

/**
 * What a host body parser left for us: its parsed body when it consumed the request stream
 * (express.json, body-parser, koa-bodyparser, Nest), else undefined so the gateway reads the stream.
 */
export function hostParsedBody(request: IncomingMessage, body: unknown): unknown {
  if (body === undefined) return undefined;
  return request.readableEnded ? body : undefined;
}
