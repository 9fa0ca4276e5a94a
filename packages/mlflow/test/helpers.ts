/** Test helpers: a logger that keeps its lines, and a wait-until for background work. */
import type { Logger } from "../src/contracts";

export interface CollectingLogger extends Logger {
  lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }>;
  text(): string;
}

export function collectingLogger(): CollectingLogger {
  const lines: CollectingLogger["lines"] = [];
  const push = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(fields === undefined ? { level, message } : { level, message, fields });
  };
  return {
    lines,
    debug: push("debug"),
    info: push("info"),
    warn: push("warn"),
    error: push("error"),
    text: () =>
      lines.map((line) => `${line.level} ${line.message} ${JSON.stringify(line.fields ?? {})}`).join("\n"),
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
