/** A stderr logger and a per-key rate limit so a down server produces one line per interval, not one per span. */
import { createDefaultLogger } from "@llmux/callbacks";
import type { Logger } from "./contracts";

/** The stderr logger of @llmux/callbacks with this package's prefix. */
export function createStderrLogger(prefix = "llmux:mlflow"): Logger {
  return createDefaultLogger(prefix);
}

export class RateLimitedLogger {
  private readonly lastByKey = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  log(
    level: "info" | "warn" | "error",
    key: string,
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    const now = Date.now();
    const last = this.lastByKey.get(key);
    if (last !== undefined && now - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.lastByKey.set(key, { at: now, suppressed: 0 });
    const withCount = suppressed > 0 ? { ...fields, suppressedSinceLast: suppressed } : fields;
    try {
      this.logger[level](message, withCount);
    } catch {
      // a broken logger must not break export
    }
  }
}
