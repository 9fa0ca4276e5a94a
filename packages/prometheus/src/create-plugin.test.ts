/** `createPlugin("prometheus", context)`: options from litellm_settings and the environment. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger, PluginFactoryContext } from "@llmux/callbacks";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createPlugin, optionsFromContext } from "./create-plugin";
import type { PrometheusPlugin } from "./types";

const logged: Array<{ message: string; fields?: Record<string, unknown> }> = [];
const logger: Logger = {
  debug: (message, fields) => logged.push({ message, ...(fields ? { fields } : {}) }),
  info: (message, fields) => logged.push({ message, ...(fields ? { fields } : {}) }),
  warn: (message, fields) => logged.push({ message, ...(fields ? { fields } : {}) }),
  error: (message, fields) => logged.push({ message, ...(fields ? { fields } : {}) }),
};

function context(settings: Record<string, unknown>, env: Record<string, string> = {}): PluginFactoryContext {
  return { logger, env, settings, redact: false };
}

const servers: Server[] = [];
afterEach(async () => {
  logged.length = 0;
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function scrapeStatus(plugin: PrometheusPlugin, authorization?: string): Promise<number> {
  const server = createServer((request, response) => void plugin.routes[0]!.handle(request, response));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: authorization ? { authorization } : {},
  });
  await response.text();
  return response.status;
}

describe("createPlugin", () => {
  it("maps litellm_settings keys to options", () => {
    const registry = new Registry();
    const options = optionsFromContext(
      context({
        prometheus_prefix: "gw_",
        prometheus_user_labels: true,
        prometheus_team_labels: "true",
        prometheus_key_labels: false,
        prometheus_max_label_values: 50,
        prometheus_process_metrics: true,
        prometheus_registry: registry,
      }),
    );
    expect(options).toEqual({
      prefix: "gw_",
      userLabels: true,
      teamLabels: true,
      keyLabels: false,
      maxLabelValues: 50,
      processMetrics: true,
      registry,
    });
  });

  it("builds a plugin named prometheus with a sink, a /metrics route and the configured prefix", async () => {
    const plugin = (await createPlugin(
      "prometheus",
      context({ prometheus_prefix: "gw_" }),
    )) as PrometheusPlugin;
    expect(plugin.name).toBe("prometheus");
    expect(plugin.sink?.name).toBe("prometheus");
    expect(plugin.routes.map((route) => `${route.method} ${route.path}`)).toEqual(["GET /metrics"]);
    expect(await plugin.registry.metrics()).toContain("# TYPE gw_requests_total counter");
    expect(logged[0]?.message).toBe("prometheus plugin ready");
  });

  it("protects /metrics with LLMUX_METRICS_TOKEN and never logs the token", async () => {
    const token = "env-token-abc";
    const plugin = (await createPlugin(
      "prometheus",
      context({}, { LLMUX_METRICS_TOKEN: token }),
    )) as PrometheusPlugin;
    expect(await scrapeStatus(plugin)).toBe(401);
    expect(await scrapeStatus(plugin, `Bearer ${token}`)).toBe(200);
    expect(JSON.stringify(logged)).not.toContain(token);
    expect(logged[0]?.fields?.["metricsAuth"]).toBe(true);
  });

  it("reads prometheus_metrics_token, including os.environ/ references", () => {
    expect(
      optionsFromContext(
        context({ prometheus_metrics_token: "os.environ/SCRAPE_TOKEN" }, { SCRAPE_TOKEN: "xyz" }),
      ),
    ).toEqual({ metricsAuth: { bearerToken: "xyz" } });
    expect(() => optionsFromContext(context({ prometheus_metrics_token: "os.environ/MISSING" }))).toThrow(
      /MISSING/,
    );
  });

  it("follows LiteLLM's require_auth_for_metrics_endpoint with the master key", async () => {
    const plugin = (await createPlugin(
      "prometheus",
      context({ require_auth_for_metrics_endpoint: true }, { LLMUX_MASTER_KEY: "master-key-1" }),
    )) as PrometheusPlugin;
    expect(await scrapeStatus(plugin)).toBe(401);
    expect(await scrapeStatus(plugin, "Bearer master-key-1")).toBe(200);
    expect(() => optionsFromContext(context({ require_auth_for_metrics_endpoint: true }))).toThrow(
      /require_auth_for_metrics_endpoint/,
    );
  });

  it("explains a wrongly typed setting", () => {
    expect(() => optionsFromContext(context({ prometheus_user_labels: "sometimes" }))).toThrow(
      /prometheus_user_labels must be true or false/,
    );
    expect(() => optionsFromContext(context({ prometheus_max_label_values: -2 }))).toThrow(
      /prometheus_max_label_values must be a positive integer/,
    );
    expect(() => optionsFromContext(context({ prometheus_prefix: 42 }))).toThrow(
      expect.objectContaining({ kind: "llmux.prometheus.invalid_option" }),
    );
  });
});
