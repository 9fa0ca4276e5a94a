/**
 * Who may scrape `/metrics` when the gateway serves it (the `prometheus` callback in the config, the
 * core handler on a real node:http server, port 0): with a master key and no metrics token a scrape
 * needs the master key; its own token replaces that; `require_auth_for_metrics_endpoint: false` is
 * the explicit opt-out; with no master key the gateway (and so /metrics) is open as before.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGateway, createHandler, type LlmuxConfig } from "@llmux/core";
import { afterEach, describe, expect, it } from "vitest";

const MASTER_KEY = "sk-master-metrics-0123456789";
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function serve(
  settings: Record<string, unknown>,
  masterKey: string | undefined,
  env: Record<string, string> = {},
): Promise<string> {
  const config: LlmuxConfig = {
    model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }],
    litellm_settings: { callbacks: ["prometheus"], ...settings },
    ...(masterKey ? { general_settings: { master_key: masterKey } } : {}),
  };
  const gateway = createGateway({ config, env, quietOpenWarning: true });
  await gateway.ready;
  const handler = createHandler(gateway);
  const server: Server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gateway.shutdown();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const scrape = (url: string, token?: string) =>
  fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {}).then(
    (response) => response.status,
  );

describe("/metrics behind the gateway", () => {
  it("needs the master key once one is set (no metrics token configured)", async () => {
    const url = await serve({}, MASTER_KEY);
    expect(await scrape(url)).toBe(401);
    expect(await scrape(url, "sk-wrong")).toBe(401);
    expect(await scrape(url, MASTER_KEY)).toBe(200);
    // Also under /v1, where the route is mounted too.
    expect(
      (await fetch(`${url}/v1/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).status,
    ).toBe(200);
  });

  it("takes its own token instead when one is configured", async () => {
    const url = await serve({}, MASTER_KEY, { LLMUX_METRICS_TOKEN: "scrape-token-1" });
    expect(await scrape(url)).toBe(401);
    expect(await scrape(url, "scrape-token-1")).toBe(200);
  });

  it("is open only on the explicit opt-out, require_auth_for_metrics_endpoint: false", async () => {
    const url = await serve({ require_auth_for_metrics_endpoint: false }, MASTER_KEY);
    expect(await scrape(url)).toBe(200);
  });

  it("stays open on a gateway without a master key (the gateway itself is open)", async () => {
    const url = await serve({}, undefined);
    expect(await scrape(url)).toBe(200);
  });
});
