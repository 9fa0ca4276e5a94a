import type { Logger } from "./types";

/** A Logger that writes one line per message to stderr: `[llmux:callbacks] level message {fields}`. */
export function createDefaultLogger(prefix = "llmux:callbacks"): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    let line = `[${prefix}] ${level} ${message}`;
    if (fields !== undefined) {
      try {
        line += ` ${JSON.stringify(fields)}`;
      } catch {
        // fields that cannot be serialised are left out rather than breaking the log line
      }
    }
    process.stderr.write(`${line}\n`);
  };
  return {
    debug: () => {},
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}

/** Calls a logger method, swallowing whatever a broken logger throws. */
export function safeLog(
  logger: Logger,
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields?: Record<string, unknown>,
): void {
  try {
    logger[level](message, fields);
  } catch {
    // a logger must never break delivery
  }
}
