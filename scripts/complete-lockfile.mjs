#!/usr/bin/env node
/**
 * Completes package-lock.json with the platform-specific optional packages (biome, rollup, turbo
 * binaries for other OSes) that npm leaves out when its registry cannot serve them. Without the
 * entries `npm ci` refuses the lock as "out of sync"; with them it skips those packages on this
 * platform (their os/cpu do not match) and installs them elsewhere by name and version.
 *
 * Run after any `npm install`: `node scripts/complete-lockfile.mjs`.
 */
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

/** os / cpu / libc of a platform package, from its name (the conventions of biome, rollup and turbo). */
function platformOf(name) {
  const os = [
    "android",
    "darwin",
    "freebsd",
    "linux",
    "openbsd",
    "openharmony",
    "win32",
    "windows",
    "sunos",
    "aix",
    "netbsd",
  ].find((candidate) => name.includes(candidate));
  const cpuNames = {
    arm64: "arm64",
    x64: "x64",
    "-64": "x64",
    ia32: "ia32",
    "arm-": "arm",
    loong64: "loong64",
    ppc64: "ppc64",
    riscv64: "riscv64",
    s390x: "s390x",
  };
  let cpu;
  for (const [marker, value] of Object.entries(cpuNames)) {
    if (name.includes(marker)) {
      cpu = value;
      break;
    }
  }
  const entry = {};
  if (cpu) entry.cpu = [cpu];
  if (os) entry.os = [os === "windows" ? "win32" : os];
  if (name.includes("musl")) entry.libc = ["musl"];
  else if (name.includes("gnu") || (os === "linux" && name.includes("@biomejs"))) entry.libc = ["glibc"];
  return entry;
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  const optional = entry.optionalDependencies ?? {};
  for (const [name, range] of Object.entries(optional)) {
    const base = location === "" ? "" : `${location}/`;
    const candidates = [`${base}node_modules/${name}`, `node_modules/${name}`];
    if (candidates.some((candidate) => packages[candidate])) continue;
    const version = String(range).replace(/^[\^~=]/, "");
    if (!/^\d+\.\d+\.\d+/.test(version)) continue;
    packages[`node_modules/${name}`] = {
      version,
      ...platformOf(name),
      dev: entry.dev ?? false,
      optional: true,
    };
    if (!entry.dev) delete packages[`node_modules/${name}`].dev;
    added++;
  }
}
const sorted = {};
for (const key of Object.keys(packages).sort((a, b) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))))
  sorted[key] = packages[key];
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
