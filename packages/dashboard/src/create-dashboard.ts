import type { IncomingMessage, ServerResponse } from "node:http";
import { ControlBridge } from "./control/control-bridge";
import { spendFromLogs, spendLogRows } from "./control/spend-from-logs";
import { readJson } from "./http/read-json";
import { isStaticPath, serveStatic } from "./http/static-files";
import { DashboardData } from "./store/dashboard-data";
import type { Dashboard, DashboardHost, DashboardOptions, SpendDimension, SpendReport } from "./types";

const WINDOWS: Record<string, { windowMs: number; bucketMs: number }> = {
  "15m": { windowMs: 15 * 60_000, bucketMs: 60_000 },
  "1h": { windowMs: 60 * 60_000, bucketMs: 60_000 },
  "6h": { windowMs: 6 * 60 * 60_000, bucketMs: 5 * 60_000 },
  "24h": { windowMs: 24 * 60 * 60_000, bucketMs: 15 * 60_000 },
};
const DIMENSIONS: SpendDimension[] = ["model", "key", "user", "team"];

/** The control plane's LiteLLM admin routes behind the dashboard's key-management endpoints. */
const KEY_ROUTES: Record<string, { method: "GET" | "POST"; url: string }> = {
  "GET /api/keys": { method: "GET", url: "/key/list?return_full_object=true&size=100" },
  "POST /api/keys": { method: "POST", url: "/key/generate" },
  "POST /api/keys/block": { method: "POST", url: "/key/block" },
  "POST /api/keys/unblock": { method: "POST", url: "/key/unblock" },
  "POST /api/keys/delete": { method: "POST", url: "/key/delete" },
};

/**
 * The dashboard for one gateway: registers its plugin with the host and answers everything under its
 * mount point. Static files (which hold no data) are public; every `api/*` endpoint passes the same
 * admin check as the management routes first.
 *
 * @example
 * // Express, through the adapter: app.use("/llmux", gateway.dashboard)
 * // curl -H "Authorization: Bearer $LLMUX_MASTER_KEY" http://localhost:3000/llmux/api/calls
 */
export function createDashboard(host: DashboardHost, options: DashboardOptions = {}): Dashboard {
  const data = new DashboardData(host, options);
  const plugin = data.plugin();
  host.addPlugin(plugin);
  const control = new ControlBridge(() => host.routes());

  async function spend(
    by: SpendDimension,
    window: { windowMs: number; bucketMs: number },
    request: IncomingMessage,
  ) {
    if (control.find("GET", "/spend/logs")) {
      const end = data.now();
      const start = end - window.windowMs;
      const since = new Date(start).toISOString().slice(0, 10);
      const answer = await control.call("GET", `/spend/logs?start_date=${since}`, request.headers);
      if (answer && answer.status === 200) {
        return spendFromLogs(spendLogRows(answer.body), by, start, end, window.bucketMs);
      }
      host.logger?.warn("dashboard: the control plane's /spend/logs failed; showing in-process spend", {
        status: answer?.status,
      });
    }
    return data.spend(by, window.windowMs, window.bucketMs);
  }

  async function api(
    method: string,
    path: string,
    query: URLSearchParams,
    request: IncomingMessage,
    response: ServerResponse,
    parsedBody: unknown,
  ): Promise<void> {
    const window = WINDOWS[query.get("window") ?? "1h"] ?? WINDOWS["1h"]!;
    if (method === "GET" && path === "/api/overview") {
      const now = data.now();
      const models = data.modelGroups(60 * 60_000);
      const deployments = data.deployments();
      return send(response, 200, {
        now,
        redact: host.redact,
        control: control.available,
        spendSource: control.find("GET", "/spend/logs") ? "control" : "memory",
        cursor: data.ring.cursor,
        lastHour: {
          calls: models.reduce((total, model) => total + model.calls, 0),
          errors: models.reduce((total, model) => total + model.errors, 0),
          spend: models.reduce((total, model) => total + model.spend, 0),
          tokens: models.reduce((total, model) => total + model.tokens, 0),
        },
        deployments: deployments.length,
        cooling: deployments.filter((deployment) => deployment.state === "cooling").length,
      });
    }
    if (method === "GET" && path === "/api/calls") {
      const since = Number(query.get("since") ?? 0) || 0;
      const limit = Math.min(Math.max(Number(query.get("limit") ?? 100) || 100, 1), 500);
      return send(response, 200, data.calls(since, limit));
    }
    if (method === "GET" && path.startsWith("/api/calls/")) {
      const call = data.call(decodeURIComponent(path.slice("/api/calls/".length)));
      if (!call)
        return sendError(response, 404, "No such call in memory (only the last calls are kept)", "not_found");
      return send(response, 200, call);
    }
    if (method === "GET" && path === "/api/spend") {
      const by = (query.get("by") ?? "model") as SpendDimension;
      if (!DIMENSIONS.includes(by))
        return sendError(response, 400, `'by' must be one of ${DIMENSIONS.join(", ")}`, "invalid_by");
      const report: SpendReport = await spend(by, window, request);
      return send(response, 200, report);
    }
    if (method === "GET" && path === "/api/models") {
      return send(response, 200, { windowMs: window.windowMs, models: data.modelGroups(window.windowMs) });
    }
    if (method === "GET" && path === "/api/deployments") {
      return send(response, 200, { now: data.now(), deployments: data.deployments() });
    }
    if (method === "GET" && path === "/api/exporters") {
      return send(response, 200, { exporters: data.exporters() });
    }
    const keyRoute = KEY_ROUTES[`${method} ${path}`];
    if (keyRoute) {
      if (!control.available) {
        return sendError(
          response,
          404,
          "Key management needs the control plane (@llmux/control with a database) configured",
          "control_plane_off",
        );
      }
      const body = method === "POST" ? await readJson(request, parsedBody) : undefined;
      if (await control.forward(keyRoute.method, keyRoute.url, request, response, body)) return;
      return sendError(response, 404, `The control plane has no route ${keyRoute.url}`, "not_found");
    }
    return sendError(response, 404, `No dashboard endpoint ${method} ${path}`, "not_found");
  }

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
    parsedBody?: unknown,
  ): Promise<boolean> {
    const method = request.method ?? "GET";
    const url = request.url ?? "/";
    const queryStart = url.indexOf("?");
    const path = (queryStart === -1 ? url : url.slice(0, queryStart)) || "/";
    const query = new URLSearchParams(queryStart === -1 ? "" : url.slice(queryStart + 1));
    if ((method === "GET" || method === "HEAD") && isStaticPath(path)) {
      // "/llmux" without its slash: the page's relative URLs need it.
      const original = (request as IncomingMessage & { originalUrl?: string }).originalUrl;
      if (path === "/" && original && !original.split("?", 1)[0]!.endsWith("/")) {
        response.writeHead(308, { location: `${original.split("?", 1)[0]}/` });
        response.end();
        return true;
      }
      return serveStatic(path, method, response);
    }
    if (!path.startsWith("/api/")) return false;
    if (method === "GET" && path === "/api/session") {
      // Tells the page whether its key is accepted, without a 401 (which browsers log as a console error).
      const authenticated = await host.authenticate(request).then(
        () => true,
        () => false,
      );
      send(response, 200, { authenticated });
      return true;
    }
    try {
      await host.authenticate(request);
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      sendError(
        response,
        status === 403 ? 403 : 401,
        (error as Error).message || "Unauthorized",
        String((error as { code?: unknown }).code ?? "unauthorized"),
      );
      return true;
    }
    try {
      await api(method, path, query, request, response, parsedBody);
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (!response.headersSent) {
        sendError(
          response,
          typeof status === "number" && status >= 400 && status < 600 ? status : 500,
          typeof status === "number" ? (error as Error).message : "The dashboard failed to answer",
          "dashboard_error",
        );
      }
      if (typeof status !== "number")
        host.logger?.error("dashboard: an endpoint failed", { path, error: String(error) });
    }
    return true;
  }

  return { plugin, handle };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, message: string, code: string): void {
  const type =
    status === 401 || status === 403
      ? "authentication_error"
      : status === 404
        ? "not_found_error"
        : "dashboard_error";
  send(response, status, { error: { message, type, code } });
}
