import type { ShutdownPlan } from "./create-gateway";

export interface ShutdownSignalOptions {
  /**
   * The force timer: stopping that takes longer exits 1. Default LLMUX_SHUTDOWN_TIMEOUT_MS, else 15 000.
   */
  timeoutMs?: number;
  /**
   * How long in-flight calls (streams included) may run before streams are ended in-band. Default
   * LLMUX_SHUTDOWN_GRACE_MS, else two thirds of the timeout; never past the flush deadline.
   */
  graceMs?: number;
  log?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

/** The timeline of one stop: grace for in-flight calls, then telemetry flushed by `deadline`. */
export interface StopPlan extends Required<ShutdownPlan> {
  /** When the force timer fires (epoch ms). */
  forceAt: number;
}

function positive(value: string | undefined): number | undefined {
  const number = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(number) && number > 0
    ? number
    : undefined;
}

/**
 * The stop timeline for a signal received at `now`: the force timer at `timeoutMs`, telemetry
 * flushed by a deadline before it (a margin of a fifth of the timeout, at most 2 s), and the grace
 * period for in-flight calls ending no later than that deadline.
 */
export function stopPlan(now: number, options: ShutdownSignalOptions = {}): StopPlan {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? positive(env.LLMUX_SHUTDOWN_TIMEOUT_MS) ?? 15_000;
  const margin = Math.min(2_000, timeoutMs / 5);
  const flushBy = timeoutMs - margin;
  const graceMs = Math.min(
    options.graceMs ?? positive(env.LLMUX_SHUTDOWN_GRACE_MS) ?? Math.round((timeoutMs * 2) / 3),
    flushBy,
  );
  return { graceMs, deadline: now + flushBy, forceAt: now + timeoutMs };
}

/**
 * Graceful stop for a host process. On the first SIGTERM or SIGINT it runs `stop(plan)`: stop
 * accepting connections, let in-flight calls finish for `plan.graceMs` (then end streams in-band),
 * flush telemetry by `plan.deadline` (what is not delivered by then is dropped, counted and logged),
 * and exit 0 when `stop` resolves. It exits 1 when `stop` fails, when the force timer fires first
 * (`timeoutMs`), or at once on a second signal. Each step is logged.
 */
export function onShutdownSignals(
  stop: (plan: StopPlan) => Promise<unknown>,
  options: ShutdownSignalOptions = {},
): void {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  let stopping: string | undefined;
  const handle = (signal: string) => {
    if (stopping) {
      log(`${signal} again while stopping: forcing exit 1`);
      process.exit(1);
    }
    stopping = signal;
    const startedAt = Date.now();
    const plan = stopPlan(startedAt, options);
    const timeoutMs = plan.forceAt - startedAt;
    // ref'd on purpose: if stopping stalls on a promise that holds no handle, the timer still ends it
    setTimeout(() => {
      log(`${signal}: not stopped within ${timeoutMs} ms: forcing exit 1`);
      process.exit(1);
    }, timeoutMs);
    // stop() closes the listener synchronously: once this line is out, new connections are refused
    let stopped: Promise<unknown>;
    try {
      stopped = stop(plan);
    } catch (error) {
      stopped = Promise.reject(error);
    }
    log(
      `${signal}: stopping (in-flight calls get ${plan.graceMs} ms, telemetry is flushed by ${plan.deadline - startedAt} ms; a second signal or ${timeoutMs} ms forces the exit)`,
    );
    stopped.then(
      () => {
        log(`${signal}: stopped in ${Date.now() - startedAt} ms, before the force timer: exit 0`);
        process.exit(0);
      },
      (error) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => handle("SIGTERM"));
  process.on("SIGINT", () => handle("SIGINT"));
}
