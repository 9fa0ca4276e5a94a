import type { Logger } from "@llmux/callbacks";

/** A minimal structured logger on stderr; `LLMUX_LOG_LEVEL` = debug | info | warn | error | silent. */
export function createConsoleLogger(level = process.env.LLMUX_LOG_LEVEL ?? "info"): Logger {
  const order = ["debug", "info", "warn", "error", "silent"];
  const threshold = Math.max(0, order.indexOf(level));
  const write = (name: string, message: string, fields?: Record<string, unknown>) => {
    if (order.indexOf(name) < threshold) return;
    const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    process.stderr.write(`[llmux] ${name}: ${message}${suffix}\n`);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}
