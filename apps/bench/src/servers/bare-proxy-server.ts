/**
 * Child process: the floor. The smallest useful Node passthrough proxy: a node:http server that
 * forwards every request to the upstream through an undici Pool (keep-alive) and pipes the
 * response body back as it arrives. No parsing, no routing, no telemetry.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Pool } from "undici";
import { requireEnv, serveChild } from "../server-protocol";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "te",
  "trailer",
  "host",
]);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) result[name] = value;
  }
  return result;
}

serveChild(async () => {
  const upstream = new Pool(requireEnv("BENCH_UPSTREAM_URL"), {
    connections: 256,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const forward = (request: IncomingMessage, response: ServerResponse) => {
    upstream
      .request({
        method: request.method as "POST",
        // Express strips its mount path from url; originalUrl keeps it
        path: (request as { originalUrl?: string }).originalUrl ?? request.url ?? "/",
        headers: forwardable(request.headers),
        body: request,
      })
      .then(
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode, forwardable(upstreamResponse.headers));
          // classic pipe (backpressure, no per-call AbortController as stream.pipeline creates)
          upstreamResponse.body.on("error", () => response.destroy());
          upstreamResponse.body.pipe(response);
        },
        () => {
          if (!response.headersSent) response.writeHead(502, { "content-type": "application/json" });
          response.end('{"error":{"message":"upstream failed","type":"server_error"}}');
        },
      );
  };
  // BENCH_PROXY_FRAMEWORK=express: the same proxy as an Express 5 route (the floor of an Express host)
  const onExpress = process.env.BENCH_PROXY_FRAMEWORK === "express";
  const app = express();
  app.disable("x-powered-by");
  app.use("/v1", (request, response) => forward(request, response));
  const server = onExpress
    ? createServer({ keepAliveTimeout: 30_000 }, app)
    : createServer({ keepAliveTimeout: 30_000 }, forward);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    details: { kind: `${onExpress ? "Express 5 route" : "node:http"} + undici Pool, piped body` },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
});
