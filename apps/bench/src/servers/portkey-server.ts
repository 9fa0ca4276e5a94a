/**
 * Child process: the Portkey gateway (`@portkey-ai/gateway`, pinned in portkey-install.ts) run
 * in this process, the way its CLI starts it (`node build/start-server.js --port=<port>
 * --headless`, NODE_ENV=production), bound to 127.0.0.1, routing to the same mock as every other
 * target. The load generator adds the headers Portkey routes by (`x-portkey-provider: openai`,
 * `x-portkey-custom-host: <mock>/v1`); the caller's Authorization is forwarded upstream as the
 * OpenAI key. Portkey's start-up banner goes to stderr (the bench's stdout is its table).
 */
import { Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { pathToFileURL } from "node:url";
import { requireEnv, serveChild } from "../server-protocol";
import { ensurePortkey, PORTKEY_VERSION } from "./portkey-install";

async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

serveChild(async () => {
  const upstream = requireEnv("BENCH_UPSTREAM_URL");
  const entry = await ensurePortkey();
  const port = await freePort();
  // @hono/node-server's serve() listens on every interface (listen(port, undefined)): keep it on loopback
  const listen = Server.prototype.listen;
  let server: Server | undefined;
  Server.prototype.listen = function listenOnLoopback(this: Server, ...args: unknown[]) {
    if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
      server = this;
      const callback = args.find((argument) => typeof argument === "function") as (() => void) | undefined;
      return (listen as (...rest: unknown[]) => Server).call(this, args[0], "127.0.0.1", callback);
    }
    return (listen as (...rest: unknown[]) => Server).apply(this, args);
  } as typeof Server.prototype.listen;
  // the banner, the spinner and console.clear() would land in the bench's stdout table
  const write = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(chunk as string, ...(rest as []))) as typeof process.stdout.write;
  console.clear = () => undefined;
  process.argv = [process.argv[0]!, entry, `--port=${port}`, "--headless"];
  await import(pathToFileURL(entry).href);
  Server.prototype.listen = listen;
  if (!server) throw new Error("Portkey did not start an HTTP server");
  if (!server.listening) await new Promise<void>((resolve) => server!.once("listening", () => resolve()));
  server.keepAliveTimeout = 30_000;
  const running = server;
  return {
    url: `http://127.0.0.1:${port}`,
    details: {
      kind: `@portkey-ai/gateway@${PORTKEY_VERSION} (Hono on @hono/node-server), headless, NODE_ENV=production`,
      requestHeaders: {
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": `${upstream}/v1`,
      },
    },
    async close() {
      running.closeAllConnections();
      await new Promise<void>((resolve) => running.close(() => resolve()));
    },
  };
});
