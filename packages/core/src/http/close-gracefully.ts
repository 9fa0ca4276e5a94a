import type { Server } from "node:http";
import type { Gateway, ShutdownPlan } from "../gateway/create-gateway";

/**
 * The graceful close of a host's HTTP server with the gateway mounted on it:
 * 1. stop accepting connections; idle keep-alive sockets are closed at once, and every socket as
 *    soon as its in-flight response has ended (so a client's pooled connection never holds the exit);
 * 2. in-flight calls finish; streams still running after `plan.graceMs` are ended with an in-band
 *    error (503 `gateway_shutting_down`), not cut;
 * 3. connections still open at `plan.deadline` (a non-streamed call still waiting) are closed;
 * 4. `gateway.shutdown()` drains the callback queues and flushes span exporters by `plan.deadline`,
 *    logging what was dropped and why.
 */
export async function closeGracefully(
  server: Server,
  gateway: Gateway,
  plan: ShutdownPlan = {},
): Promise<void> {
  gateway.beginShutdown(plan);
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  idle.unref();
  let late: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      if (plan.deadline !== undefined) {
        late = setTimeout(
          () => {
            gateway.logger.error("shutdown: connections still open at the flush deadline were closed", {});
            server.closeAllConnections();
          },
          Math.max(0, plan.deadline - Date.now()),
        );
        late.unref();
      }
    });
  } finally {
    clearInterval(idle);
    clearTimeout(late);
  }
  await gateway.shutdown();
}
