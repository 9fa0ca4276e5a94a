/**
 * Serves the plugin's `GET /metrics` route from a real node:http server on 127.0.0.1, port 0, and
 * scrapes it with fetch, with and without auth.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { PluginRoute } from "@llmux/callbacks";
import { afterEach, describe, expect, it } from "vitest";
import { prometheusPlugin } from "./prometheus-plugin";
import { attempt, callEvent } from "./test-support/call-events";
import { parseExposition, sum } from "./test-support/exposition";

const servers: Server[] = [];

/** Mounts plugin routes under /gateway the way a framework adapter would. */
async function serve(routes: PluginRoute[]): Promise<string> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const route = routes.find(
      (candidate) =>
        `/gateway${candidate.path}` === path &&
        (candidate.method === request.method || (candidate.method === "GET" && request.method === "HEAD")),
    );
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    Promise.resolve(route.handle(request, response)).catch(() => response.writeHead(500).end());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe("GET /metrics", () => {
  it("serves the text exposition; by default the route leaves auth to the gateway (admin)", async () => {
    const plugin = prometheusPlugin();
    plugin.sink.onSuccess!(callEvent({ callId: "a", attempts: [attempt({ deploymentId: "east" })] }));
    expect(plugin.routes).toEqual([
      { method: "GET", path: "/metrics", auth: "admin", root: true, handle: expect.any(Function) },
    ]);
    const base = await serve(plugin.routes);

    const response = await fetch(`${base}/metrics`);
    const body = await response.text();
    console.log(
      "GET /metrics ->",
      response.status,
      response.headers.get("content-type"),
      `${body.length} bytes`,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(body).toContain("# TYPE llmux_requests_total counter");
    expect(
      sum(parseExposition(body), "llmux_requests_total", { deployment: "east", status_code: "200" }),
    ).toBe(1);

    const head = await fetch(`${base}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("requires the bearer token when one is configured", async () => {
    const token = "metrics-scrape-token-123";
    const plugin = prometheusPlugin({ metricsAuth: { bearerToken: token } });
    const base = await serve(plugin.routes);

    const missing = await fetch(`${base}/metrics`);
    const missingBody = await missing.text();
    console.log("no Authorization ->", missing.status, JSON.stringify(missingBody));
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(missingBody).not.toContain("llmux_");

    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${base}/metrics`, { headers: { authorization: `Basic ${token}` } });
    expect(basic.status).toBe(401);

    const right = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const body = await right.text();
    console.log("Bearer <token> ->", right.status, `${body.length} bytes`);
    expect(right.status).toBe(200);
    expect(body).toContain("# TYPE llmux_in_flight_requests gauge");
    expect(body).not.toContain(token);
  });

  it("asks a custom auth function, and denies when it throws", async () => {
    const seen: string[] = [];
    const plugin = prometheusPlugin({
      metricsAuth: async (request) => {
        seen.push(String(request.headers["x-scraper"]));
        if (request.headers["x-scraper"] === "explode") throw new Error("auth backend down");
        return request.headers["x-scraper"] === "prometheus";
      },
    });
    const base = await serve(plugin.routes);
    expect((await fetch(`${base}/metrics`, { headers: { "x-scraper": "prometheus" } })).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { headers: { "x-scraper": "curl" } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { "x-scraper": "explode" } })).status).toBe(401);
    expect(seen).toEqual(["prometheus", "curl", "explode"]);
  });

  it("works as a plain Node handler mounted by the host (metricsHandler)", async () => {
    const plugin = prometheusPlugin();
    const server = createServer((request, response) => {
      if (request.url === "/internal/metrics") void plugin.metricsHandler(request, response);
      else response.writeHead(404).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/internal/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("llmux_cost_usd_total");
  });
});
