import type { IncomingMessage, ServerResponse } from "node:http";
import { bodyParserFailure, createHandler, type Gateway, hostParsedBody, sendError } from "@llmux/core";
import type { LlmuxMountOptions } from "./types";

type NodeRequest = IncomingMessage & { body?: unknown; originalUrl?: string };
type Next = (error?: unknown) => void;
/**
 * Connect-style middleware on the raw Node request and response (what Express and @fastify/middie pass).
 * It matches the full URL itself, so it behaves the same on both platforms and under a global prefix.
 * `llmuxGateway` is its name in the host's traces (instrumentations name middleware spans after it).
 */
export function gatewayMiddleware(gateway: Gateway, options: LlmuxMountOptions) {
  const handle = createHandler(gateway);
  const prefix = (options.path ?? "/v1").replace(/\/+$/, "");
  // The gateway's own root paths (health, /metrics, ...) unless the host lists them; read per request
  // because plugin routes are known only once the gateway is ready.
  const fixedRootPaths = options.rootPaths ? new Set(options.rootPaths) : undefined;
  const isRootPath = (path: string): boolean =>
    fixedRootPaths ? fixedRootPaths.has(path) : gateway.rootPaths().includes(path);
  const target = (request: NodeRequest): string | undefined => {
    const url = request.originalUrl ?? request.url ?? "/";
    const path = url.split("?", 1)[0]!;
    if (path === prefix || path.startsWith(`${prefix}/`)) return url.slice(prefix.length) || "/";
    return isRootPath(path) ? url : undefined;
  };

  const llmuxGateway = (request: NodeRequest, response: ServerResponse, next: Next) => {
    const url = target(request);
    if (url === undefined) return next();
    const original = request.url;
    request.url = url;
    handle(request, response, hostParsedBody(request, request.body))
      .finally(() => Object.assign(request, { url: original }))
      .then((handled) => handled || next(), next);
  };

  /** Express error middleware: Nest's JSON parser failures on the gateway's paths → OpenAI 400/413. */
  const errorHandler = (error: unknown, request: NodeRequest, response: ServerResponse, next: Next) => {
    const failure = target(request) === undefined ? undefined : bodyParserFailure(error);
    if (!failure) return next(error);
    sendError(response, failure, "openai", gateway.scrub);
  };

  return { middleware: llmuxGateway, errorHandler };
}
