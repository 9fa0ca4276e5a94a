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
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const say = (line) => process.stdout.write(`${line}\n`);

/** Per task (e.g. "@llmux/core#build"): when it started, whether it came from the cache, its output. */
const tasks = new Map();
let total = 0;
let finished = 0;
let lastPrint = Date.now();
const print = (line) => {
  lastPrint = Date.now();
  say(line);
};

const child = spawn(
  turbo,
  ["run", "build", `--filter=${app.name}...`, "--json", "--log-order=stream", "--output-logs=full"],
  { cwd: root, env: { ...process.env, LLMUX_BUILD_DTS: "0" }, stdio: ["ignore", "pipe", "pipe"] },
);

const turboLines = [];
const readLines = (stream, onLine) => createInterface({ input: stream }).on("line", onLine);

readLines(child.stdout, (raw) => {
  let event;
  try {
    event = JSON.parse(raw);
  } catch {
    turboLines.push(raw);
    return;
  }
  const text = String(event.text ?? "");
  if (event.source === "turbo") {
    turboLines.push(text);
    const scope = /Packages in scope: (.+)$/.exec(text);
    if (scope) {
      const packages = scope[1].split(", ");
      total = packages.length;
      const needed = packages.filter((name) => name !== app.name);
      print(
        `llmux: building ${app.label} and the ${needed.length} packages it needs (JavaScript only; ` +
          "`npm run build` also makes the type declarations)",
      );
    }
    return;
  }
  const name = String(event.source).replace(/#build$/, "");
  let task = tasks.get(name);
  if (!task) {
    task = { started: Date.now(), cached: false, done: false, esm: false, cjs: false, output: [] };
    tasks.set(name, task);
  }
  task.output.push(text);
  if (/^cache hit/.test(text)) {
    task.cached = true;
    return;
  }
  if (/^cache (miss|bypass)/.test(text)) {
    print(`  building ${name}`);
    return;
  }
  if (/^ESM .*Build success/.test(text)) task.esm = true;
  if (/^CJS .*Build success/.test(text)) task.cjs = true;
  // A package is done when each format it builds has succeeded (apps build ESM only).
  const formats = app.name === name ? task.esm : task.esm && task.cjs;
  if (formats && !task.done) {
    task.done = true;
    finished++;
    print(
      task.cached
        ? `  [${finished}/${total}] ${name}: up to date (turbo cache)`
        : `  [${finished}/${total}] built ${name} in ${seconds(task.started)}`,
    );
  }
});
readLines(child.stderr, (line) => turboLines.push(line));

const heartbeat = setInterval(() => {
  if (Date.now() - lastPrint < HEARTBEAT_MS) return;
  const running = [...tasks.entries()].filter(([, task]) => !task.done && !task.cached).map(([name]) => name);
  print(`  ... ${seconds(started)}: still building ${running.join(", ") || "(turbo is scheduling)"}`);
}, 1000);

child.on("close", (code) => {
  clearInterval(heartbeat);
  if (code === 0) {
    say(`llmux: built in ${seconds(started)}; starting ${app.label}`);
    process.exit(0);
  }
  say(`llmux: the build failed (turbo exited ${code}) after ${seconds(started)}:`);
  for (const [name, task] of tasks) {
    if (task.done) continue;
    say(`--- ${name}`);
    for (const line of task.output) say(line);
  }
  for (const line of turboLines) if (line.trim()) say(line);
  process.exit(code ?? 1);
});
