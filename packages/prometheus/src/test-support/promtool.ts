/**
 * Test helper: finds promtool, installing Debian's `prometheus` package (which ships it) when it is
 * missing. Never skips: when it cannot be installed, it throws an error that says why.
 */
import { execFileSync, spawnSync } from "node:child_process";

function which(command: string): string | undefined {
  const result = spawnSync("/bin/sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  const path = result.stdout.trim();
  return result.status === 0 && path !== "" ? path : undefined;
}

export function ensurePromtool(): string {
  const existing = which("promtool");
  if (existing) return existing;

  const cannot = (why: string) =>
    new Error(
      `promtool could not be installed (${why}). These tests check the metrics exposition and ` +
        "docs/prometheus/alerts.yml with promtool; install Debian's 'prometheus' package " +
        "(apt-get install -y prometheus) or put promtool on PATH.",
    );
  if (!which("apt-get")) throw cannot("apt-get is not available on this machine");
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const prefix: string[] = [];
  if (!isRoot) {
    if (!which("sudo")) throw cannot("not root and sudo is not available");
    prefix.push("sudo", "-n");
  }
  const environment = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const aptGet = (...args: string[]) => {
    const [command, ...rest] = [...prefix, "apt-get", "-o", "DPkg::Lock::Timeout=300", ...args];
    return spawnSync(command!, rest, { encoding: "utf8", env: environment, timeout: 600_000 });
  };
  let install = aptGet("install", "-y", "--no-install-recommends", "prometheus");
  if (install.status !== 0) {
    // The package lists may be missing or stale on a fresh machine.
    const update = aptGet("update");
    if (update.status !== 0)
      throw cannot(`apt-get update failed: ${(update.stderr || update.error?.message || "").trim()}`);
    install = aptGet("install", "-y", "--no-install-recommends", "prometheus");
  }
  if (install.status !== 0) {
    throw cannot(
      `apt-get install prometheus failed: ${(install.stderr || install.error?.message || "").trim()}`,
    );
  }
  const installed = which("promtool");
  if (!installed) throw cannot("the prometheus package installed but promtool is not on PATH");
  console.log(
    `installed promtool: ${execFileSync(installed, ["--version"], { encoding: "utf8" }).split("\n")[0]}`,
  );
  return installed;
}

export interface PromtoolResult {
  status: number | null;
  output: string;
}

export function runPromtool(promtool: string, args: string[], input?: string): PromtoolResult {
  const result = spawnSync(promtool, args, { encoding: "utf8", ...(input === undefined ? {} : { input }) });
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}`.trim() };
}
