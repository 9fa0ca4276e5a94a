/**
 * Graceful stop for a host process: on the first SIGTERM or SIGINT, runs `stop` (close the server so
 * in-flight calls finish, then `gateway.shutdown()` to flush telemetry) and exits 0; exits 1 when `stop`
 * fails or takes longer than `timeoutMs`. Later signals are ignored while stopping.
 */
export function onShutdownSignals(
  stop: () => Promise<unknown>,
  options: { timeoutMs?: number; log?: (line: string) => void } = {},
): void {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping (finishing in-flight calls, flushing telemetry)`);
    const force = setTimeout(() => process.exit(1), options.timeoutMs ?? 15_000);
    force.unref();
    stop().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => handle("SIGTERM"));
  process.on("SIGINT", () => handle("SIGINT"));
}
