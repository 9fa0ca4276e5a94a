import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = process.env.LLMUX_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/**
 * A PostgreSQL server of the test's own (initdb into a temp dir, pg_ctl on a free port), so a test may
 * stop and restart it mid-run without touching the shared server. As root, the server runs as the
 * `postgres` user (PostgreSQL refuses root). Fails with a clear message when the binaries are missing.
 */
export async function startOwnPostgres(): Promise<{
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}> {
  if (!existsSync(join(BIN, "initdb"))) {
    throw new Error(
      `PostgreSQL server binaries not found in ${BIN} (install postgresql-15 or set LLMUX_TEST_PG_BIN)`,
    );
  }
  const directory = mkdtempSync(join(tmpdir(), "llmux-pg-"));
  const data = join(directory, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: group } = await run("id", ["-g", "postgres"]);
    chownSync(directory, Number(stdout.trim()), Number(group.trim()));
    chmodSync(directory, 0o700);
  }
  const pg = (tool: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", join(BIN, tool), ...args]) : run(join(BIN, tool), args);
  const port = await freePort();
  await pg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  const start = async () => {
    await pg("pg_ctl", [
      "-D",
      data,
      "-l",
      join(directory, "log"),
      "-w",
      "-t",
      "120",
      "-o",
      `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1`,
      "start",
    ]);
  };
  const stop = async () => {
    await pg("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "120", "stop"]);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
