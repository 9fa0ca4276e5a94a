import type { IncomingMessage, ServerResponse } from "node:http";
import { createDashboardHandler, type Gateway, hostParsedBody } from "@llmux/core";

type NodeRequest = IncomingMessage & { body?: unknown; originalUrl?: string };
type Next = (error?: unknown) => void;

/**
 * Connect-style middleware serving the built-in dashboard (@llmux/dashboard) at `path` from the server
 * root, on the Express and Fastify platforms alike (it matches the full URL itself). `llmuxDashboard`
 * is its name in the host's traces.
 */
export function dashboardMiddleware(gateway: Gateway, path: string) {
  const handle = createDashboardHandler(gateway);
  const prefix = path.replace(/\/+$/, "");
  const llmuxDashboard = (request: NodeRequest, response: ServerResponse, next: Next) => {
    const url = request.originalUrl ?? request.url ?? "/";
    const pathname = url.split("?", 1)[0]!;
    if (pathname === prefix) {
      // The page's relative URLs need the trailing slash.
      response.writeHead(308, { location: `${prefix}/${url.slice(prefix.length)}` });
      response.end();
      return;
    }
    if (!pathname.startsWith(`${prefix}/`)) return next();
    const original = request.url;
    request.url = url.slice(prefix.length);
    handle(request, response, hostParsedBody(request, request.body))
      .finally(() => Object.assign(request, { url: original }))
      .then((handled) => handled || next(), next);
  };
  return llmuxDashboard;
}
