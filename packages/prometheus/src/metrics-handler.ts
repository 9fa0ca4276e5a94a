/** The `/metrics` handler: serves a registry in the Prometheus text format, optionally behind auth. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { MetricsAuth } from "./types";

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Constant-time comparison of the bearer token in `authorization` with `expected`. */
function bearerMatches(authorization: string | undefined, expected: string): boolean {
  if (authorization === undefined) return false;
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (!match) return false;
  return timingSafeEqual(digest(match[1]!), digest(expected));
}

async function authorized(request: IncomingMessage, auth: MetricsAuth | undefined): Promise<boolean> {
  if (auth === undefined || auth === "gateway" || auth === "none") return true;
  if (typeof auth === "function") {
    try {
      return (await auth(request)) === true;
    } catch {
      return false;
    }
  }
  if (auth.bearerToken === undefined || auth.bearerToken === "") return true;
  return bearerMatches(request.headers.authorization, auth.bearerToken);
}

export function createMetricsHandler(
  registry: Registry,
  auth: MetricsAuth | undefined,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    if (!(await authorized(request, auth))) {
      response.writeHead(401, {
        "content-type": "text/plain; charset=utf-8",
        "www-authenticate": 'Bearer realm="metrics"',
        "cache-control": "no-store",
      });
      response.end("Unauthorized\n");
      return;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch {
      response.writeHead(500, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      response.end("metrics collection failed\n");
      return;
    }
    response.writeHead(200, {
      "content-type": registry.contentType,
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    response.end(request.method === "HEAD" ? undefined : body);
  };
}
