import { type ChildProcess, spawn } from "node:child_process";
import { cliPath } from "./build-once";

export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the URL from the "listening on" line. */
  url: Promise<string>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Spawns `node dist/cli.js ...args` and collects its output. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): RunningCli {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { ...process.env, LLMUX_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const look = () => {
      const match = /^llmux listening on (http:\/\/\S+)/m.exec(out);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on("data", (text: string) => {
      out += text;
      look();
    });
    child.stderr!.on("data", (text: string) => {
      err += text;
    });
    exited.then((code) => reject(new Error(`llmux exited (${code}) before listening:\n${out}\n${err}`)));
  });
  url.catch(() => undefined);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    url,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Runs the command to completion. */
export async function runToExit(args: string[], env: Record<string, string | undefined> = {}) {
  const running = runCli(args, env);
  const code = await running.exited;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}
