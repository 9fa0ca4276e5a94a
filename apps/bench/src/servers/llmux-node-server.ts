/**
 * Child process: llmux without a framework: `createHandler(createGateway(options))` straight on a
 * `node:http` server (the way `serveFromEnvironment` and the CLI serve it), in the mode named by
 * BENCH_LLMUX_MODE. Compared with `bare-proxy`, the floor of a node:http host.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createGateway, createHandler } from "@llmux/core";
import { serveChild } from "../server-protocol";
import { llmuxMode, llmuxOptions, llmuxTelemetry } from "./llmux-options";

serveChild(async () => {
  const mode = llmuxMode();
  const gateway = createGateway(llmuxOptions(mode));
  await gateway.ready;
  const handle = createHandler(gateway);
  const server = createServer({ keepAliveTimeout: 30_000 }, (request, response) => {
    handle(request, response).then(
      (handled) => {
        if (!handled) response.writeHead(404).end();
      },
      () => response.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    details: { framework: "node:http", mode, plugins: gateway.plugins().map((plugin) => plugin.name) },
    flush: () => gateway.flush(),
    telemetry: () => llmuxTelemetry(gateway),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.shutdown();
    },
  };
});
