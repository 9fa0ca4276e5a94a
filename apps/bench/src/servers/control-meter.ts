/**
 * The control plane's own time per call, measured in the server under load (BENCH_CONTROL_METER=1 on
 * the llmux-express-keys* targets): the wall time inside `authenticate`, the `beforeCall` and
 * `afterCall` hooks and the synchronous part of each spend batch's write (its JSON text and the
 * statement's send), per call, printed to stderr every 5 s. They never wait, so their wall time is their
 * CPU time on the main thread, with the caches as cold as the real call path leaves them (a
 * micro-benchmark of the same functions reads several times less). Each measured function costs about
 * 0.1 µs more for the clock reads. Diagnostics only: the A/B ratios come without it.
 */
import type { ControlPlane, ControlStore } from "@llmux/control";

type Part = "authenticate" | "beforeCall" | "afterCall" | "spendWrite";

export function meterControlPlane(plane: ControlPlane, store: ControlStore): void {
  const totals: Record<Part, number> = { authenticate: 0, beforeCall: 0, afterCall: 0, spendWrite: 0 };
  let calls = 0;
  const timed = <A extends unknown[], R>(part: Part, run: (...args: A) => R, counts = false) => {
    return (...args: A): R => {
      const start = process.hrtime.bigint();
      try {
        return run(...args);
      } finally {
        totals[part] += Number(process.hrtime.bigint() - start);
        if (counts) calls++;
      }
    };
  };
  const hooks = plane.hooks;
  if (!plane.authenticate || !hooks?.beforeCall || !hooks.afterCall) throw new Error("not a control plane");
  plane.authenticate = timed("authenticate", plane.authenticate.bind(plane));
  hooks.beforeCall = timed("beforeCall", hooks.beforeCall.bind(hooks));
  hooks.afterCall = timed("afterCall", hooks.afterCall.bind(hooks), true);
  store.writeSpend = timed("spendWrite", store.writeSpend.bind(store));
  setInterval(() => {
    if (calls === 0) return;
    const parts = Object.entries(totals).map(([part, ns]) => `${part} ${(ns / calls / 1000).toFixed(2)}`);
    const sum = Object.values(totals).reduce((all, ns) => all + ns, 0) / calls / 1000;
    process.stderr.write(
      `control meter: ${calls} calls, µs per call: ${parts.join(", ")}; total ${sum.toFixed(2)}\n`,
    );
    for (const part of Object.keys(totals) as Part[]) totals[part] = 0;
    calls = 0;
  }, 5_000).unref();
}
