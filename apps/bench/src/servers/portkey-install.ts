/**
 * The Portkey gateway (`@portkey-ai/gateway`, the open-source TypeScript AI gateway) as a peer
 * target. It is not a dependency of the bench (it brings Hono, zod, ioredis, ws and an install
 * script): the pinned version is installed on first use into the bench's own node_modules/.cache,
 * with `npm install --ignore-scripts` (its only script, `patch-package`, has no patches in the
 * published package), and reused afterwards.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The version measured (pinned: a newer release may start differently). */
export const PORTKEY_VERSION = "1.15.2";

const run = promisify(execFile);

function cacheDirectory(): string {
  // dist/servers/portkey-server.js → apps/bench/node_modules/.cache/portkey-<version>
  const benchDirectory = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  return join(benchDirectory, "node_modules", ".cache", `portkey-${PORTKEY_VERSION}`);
}

/** Installs the pinned Portkey gateway when it is not there yet; returns its start script. */
export async function ensurePortkey(): Promise<string> {
  const directory = cacheDirectory();
  const entry = join(directory, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  if (existsSync(entry)) return entry;
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, "package.json"),
    `${JSON.stringify({ name: "llmux-bench-portkey", private: true, dependencies: { "@portkey-ai/gateway": PORTKEY_VERSION } }, null, 2)}\n`,
  );
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  try {
    await run(npm, ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", directory], {
      cwd: directory,
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    throw new Error(
      `cannot install @portkey-ai/gateway@${PORTKEY_VERSION} into ${directory} (npm install failed; network?): ${String((error as Error).message ?? error).slice(0, 400)}`,
    );
  }
  if (!existsSync(entry)) throw new Error(`@portkey-ai/gateway@${PORTKEY_VERSION} has no ${entry}`);
  return entry;
}
