import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import {
  addTelemetryCallbacks,
  closeGracefully,
  createConsoleLogger,
  createGateway,
  createHandler,
  json,
  loadConfigFile,
  type ResolvedConfig,
  type ShutdownPlan,
} from "@llmux/core";
import type { LlmuxServer, StartServerOptions } from "./types";

/**
 * The standalone server: the framework-free llmux handler mounted on `node:http` directly, serving
 * the reference app's gateway routes at `/v1/*` and at the root (as LiteLLM does), `/health/*` and
 * plugin routes such as `/metrics`. Anything else is a 404 in OpenAI's error shape.
 */
export async function startServer(
  options: StartServerOptions,
): Promise<LlmuxServer & { config: ResolvedConfig; server: Server }> {
  const env = options.env ?? process.env;
  const logger = createConsoleLogger(options.logLevel ?? env.LLMUX_LOG_LEVEL ?? "info");
  const config = loadConfigFile(resolve(options.config), {
    env,
    warn: (message) => logger.warn(message),
  });
  addTelemetryCallbacks(config, env);
  const gateway = createGateway({ config, env, logger });
  await gateway.ready;
  const handle = createHandler(gateway);
  const server = createServer((request, response) => {
    handle(request, response).then(
      (handled) => {
        if (!handled && !response.headersSent) {
          json(response, 404, {
            error: {
              message: `No route for ${request.method} ${(request.url ?? "/").split("?")[0]}`,
              type: "invalid_request_error",
              param: null,
              code: "not_found",
            },
          });
        }
      },
      (error: unknown) => {
        logger.error("request handler failed", { error: String(error) });
        if (!response.headersSent) json(response, 500, { error: { message: "internal error" } });
        else response.destroy();
      },
    );
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 4000, host, () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 4000);
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    config,
    server,
    // stop accepting, let in-flight calls finish (streams past the grace period end in-band), flush
    // telemetry by the plan's deadline (docs/operations.md)
    close: (plan?: ShutdownPlan) => closeGracefully(server, gateway, plan),
  };
}
