#!/usr/bin/env node
/**
 * The build step of `npm start` (and start:koa, start:nest): builds one reference app and the packages
 * it needs with turbo, printing each package as it starts and finishes (turbo's own output stays
 * quiet unless a build fails), with a line every 15 s while something is still building.
 *
 * It builds JavaScript only: LLMUX_BUILD_DTS=0 turns off tsup's type declarations, which are most of
 * a package's build time and which running an app does not need. `npm run build` and `npm test` build
 * with declarations (turbo keeps both results apart: LLMUX_BUILD_DTS is part of the task hash).
 *
 * Usage: node scripts/build-app.mjs express|koa|nest
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createBuildProgress } from "./build-progress.mjs";

const APPS = {
  express: { name: "@llmux/app-express", label: "the Express reference app" },
  koa: { name: "@llmux/app-koa", label: "the Koa reference app" },
  nest: { name: "@llmux/app-nest", label: "the NestJS reference app" },
};
const HEARTBEAT_MS = 15_000;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const app = APPS[process.argv[2] ?? "express"];
if (!app) {
  process.stderr.write(`usage: node scripts/build-app.mjs ${Object.keys(APPS).join("|")}\n`);
  process.exit(2);
}
const turbo = join(root, "node_modules", ".bin", process.platform === "win32" ? "turbo.cmd" : "turbo");
if (!existsSync(turbo)) {
  process.stderr.write("llmux: turbo is not installed: run `npm ci` first\n");
  process.exit(1);
}

const started = Date.now();
let lastPrint = Date.now();
const say = (line) => process.stdout.write(`${line}\n`);
const progress = createBuildProgress({
  appName: app.name,
  appLabel: app.label,
  print: (line) => {
    lastPrint = Date.now();
    say(line);
  },
});

const child = spawn(
  turbo,
  ["run", "build", `--filter=${app.name}...`, "--json", "--log-order=stream", "--output-logs=full"],
  { cwd: root, env: { ...process.env, LLMUX_BUILD_DTS: "0" }, stdio: ["ignore", "pipe", "pipe"] },
);
createInterface({ input: child.stdout }).on("line", progress.line);
createInterface({ input: child.stderr }).on("line", progress.stderr);

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const heartbeat = setInterval(() => {
  if (Date.now() - lastPrint < HEARTBEAT_MS) return;
  lastPrint = Date.now();
  say(`  ... ${elapsed()}: still building ${progress.running().join(", ") || "(turbo is scheduling)"}`);
}, 1000);

child.on("close", (code) => {
  clearInterval(heartbeat);
  if (code === 0) {
    say(`llmux: built in ${elapsed()}; starting ${app.label}`);
    process.exit(0);
  }
  say(`llmux: the build failed (turbo exited ${code}) after ${elapsed()}:`);
  for (const line of progress.failureReport()) say(line);
  process.exit(code ?? 1);
});
