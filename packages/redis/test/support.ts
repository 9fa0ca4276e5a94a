import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server } from "node:net";
import { Redis } from "ioredis";

/** The Redis every machine and CI runs (override with LLMUX_TEST_REDIS_URL). */
export const SHARED_REDIS_URL = process.env.LLMUX_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A key prefix of this test's own: tests share one Redis and never FLUSHALL. */
export function testPrefix(name: string): string {
  return `llmux-test:${name}:${randomBytes(4).toString("hex")}:`;
}

/** A client on the shared Redis; fails with a clear message when it is not there. */
export async function sharedRedis(): Promise<Redis> {
  const client = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(
      `these tests need the Redis at ${SHARED_REDIS_URL} (start redis-server, or set LLMUX_TEST_REDIS_URL): ${(error as Error).message}`,
    );
  }
  return client;
}

/** Deletes every key under the prefix (SCAN, never FLUSHALL). */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== "0");
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export interface OwnRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered (a hung Redis). */
  pause(): void;
  /** SIGCONT after pause. */
  resume(): void;
}

/** A redis-server of the test's own on a free port, without persistence, that the test may kill. */
export async function startOwnRedis(extraArgs: string[] = [], fixedPort?: number): Promise<OwnRedis> {
  const which = spawnSync("redis-server", ["--version"]);
  if (which.error) {
    throw new Error(
      "this test starts its own redis-server and cannot find it: install it (apt-get install redis-server)",
    );
  }
  const port = fixedPort ?? (await freePort());
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extraArgs],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 10_000;
    // a raw PING: any answer (+PONG, or -NOAUTH with requirepass) proves the server is up
    while (!(await answersPing(port))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGKILL");
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
  };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => done(/^[+-]/.test(data.toString())));
  });
}

/** A TCP server that accepts connections and never answers (a hung Redis). */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
