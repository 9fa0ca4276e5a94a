import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Debian's Chromium, installed with apt-get when it is missing (the tests run as root on CI), or a
 * clear error saying why it cannot be. playwright-core never downloads a browser of its own.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const steps: string[] = [];
  for (const args of [["install", "-y", "chromium"], ["update"], ["install", "-y", "chromium"]]) {
    const run = spawnSync("apt-get", args, {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 600_000,
    });
    steps.push(`apt-get ${args.join(" ")} → ${run.error ? run.error.message : `exit ${run.status}`}`);
    if (args[0] === "install" && run.status === 0 && existsSync(CHROMIUM)) return CHROMIUM;
  }
  throw new Error(
    `The dashboard's browser tests need Chromium at ${CHROMIUM} and could not install it (${steps.join("; ")}). ` +
      "Install it with `apt-get install -y chromium` (as root) and run the tests again.",
  );
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
