/**
 * A socket that errors twice (a TLS alert then a reset, as CI saw with a TLS Redis that refused the
 * client) must not raise an uncaught exception in the host's process. ioredis's own connector listens
 * with `once`, so the second error of one socket is unhandled; ours keeps a listener for the socket's life.
 * Against the machine's Redis (127.0.0.1:6379).
 */
import { Redis, type RedisOptions } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { clientOptions } from "../src/connect";
import { GuardedConnector } from "../src/guarded-connector";

const clients: Redis[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

async function readyClient(options: RedisOptions): Promise<Redis> {
  const client = new Redis({ host: "127.0.0.1", port: 6379, maxRetriesPerRequest: 0, ...options });
  client.on("error", () => undefined);
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    setTimeout(() => reject(new Error("Redis at 127.0.0.1:6379 did not answer (this test needs it)")), 5_000);
  });
  return client;
}

const streamOf = (client: Redis) => (client as unknown as { stream: NodeJS.EventEmitter }).stream;

describe("GuardedConnector", () => {
  it("ioredis's own connector raises a socket's second error (the bug this guards against)", async () => {
    const client = await readyClient({ retryStrategy: () => null });
    const stream = streamOf(client);
    stream.emit("error", new Error("tlsv1 alert decode error"));
    expect(() => stream.emit("error", new Error("read ECONNRESET"))).toThrow("read ECONNRESET");
  });

  it("with the guarded connector (the gateway's default), the second error is handled", async () => {
    expect(clientOptions({ prefix: "x:" } as never).Connector).toBe(GuardedConnector);
    const client = await readyClient({ Connector: GuardedConnector, retryStrategy: () => null });
    expect(await client.ping()).toBe("PONG");
    const stream = streamOf(client);
    stream.emit("error", new Error("tlsv1 alert decode error"));
    expect(() => stream.emit("error", new Error("read ECONNRESET"))).not.toThrow();
  });
});
