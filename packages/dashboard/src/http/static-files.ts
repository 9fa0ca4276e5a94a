import { existsSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface StaticFile {
  body: Buffer;
  type: string;
}

/**
 * The page's files: index.html, app.js and app.css from the package's `static/` folder (shipped as
 * is: no build step) and uPlot from its npm package. Read once, on first use, and kept in memory.
 */
const FILES: Record<string, { from: "static" | "uplot"; name: string; type: string }> = {
  "/": { from: "static", name: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { from: "static", name: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { from: "static", name: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { from: "static", name: "app.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { from: "static", name: "favicon.svg", type: "image/svg+xml" },
  "/uplot.min.js": { from: "uplot", name: "dist/uPlot.iife.min.js", type: "text/javascript; charset=utf-8" },
  "/uplot.min.css": { from: "uplot", name: "dist/uPlot.min.css", type: "text/css; charset=utf-8" },
};

/** The page may load its own files only; uPlot sets inline styles on its elements. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const cache = new Map<string, StaticFile>();
let staticDir: string | undefined;

function moduleDir(): string {
  return dirname(fileURLToPath(import.meta.url));
}

/** `static/` beside `dist/` (installed package) or beside `src/` (workspace, tests). */
function findStaticDir(): string {
  if (staticDir) return staticDir;
  const here = moduleDir();
  for (const candidate of [join(here, "..", "static"), join(here, "..", "..", "static")]) {
    if (existsSync(join(candidate, "index.html"))) {
      staticDir = candidate;
      return candidate;
    }
  }
  throw new Error(`@llmux/dashboard: its static/ folder is missing (looked beside ${here})`);
}

function load(path: string): StaticFile | undefined {
  const cached = cache.get(path);
  if (cached) return cached;
  const entry = FILES[path];
  if (!entry) return undefined;
  const file =
    entry.from === "static"
      ? join(findStaticDir(), entry.name)
      : createRequire(import.meta.url).resolve(`uplot/${entry.name}`);
  const loaded = { body: readFileSync(file), type: entry.type };
  cache.set(path, loaded);
  return loaded;
}

export function isStaticPath(path: string): boolean {
  return path in FILES;
}

/** Writes a static file; false when the path is not one. */
export function serveStatic(path: string, method: string, response: ServerResponse): boolean {
  const file = load(path);
  if (!file) return false;
  response.writeHead(200, {
    "content-type": file.type,
    "content-length": String(file.body.length),
    "cache-control": "no-cache",
    ...SECURITY_HEADERS,
  });
  response.end(method === "HEAD" ? undefined : file.body);
  return true;
}
