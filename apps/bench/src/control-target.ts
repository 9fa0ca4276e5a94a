import type { TargetDefinition } from "./types";

/**
 * The virtual-key target (issue 12), on demand only (not in the default or smoke sets: PGlite takes
 * seconds to start). Measure it against the master-key-only run in the same invocation:
 *   npm run bench -- --targets llmux-express-with:auth,llmux-express-keys,llmux-express-keys-pg
 * and everything on, master key against virtual key:
 *   npm run bench -- --targets llmux-express-all,llmux-express-all-keys-pg
 * `llmux-express-keys-pg` keeps keys and spend logs on the PostgreSQL server (127.0.0.1:5432, or
 * BENCH_CONTROL_POSTGRES_URL), as production does: the database's own CPU is then outside the
 * measured process, as it is outside the host app's.
 */
export const CONTROL_TARGET: TargetDefinition = {
  name: "llmux-express-keys",
  description:
    "llmux on Express 5, a virtual key (@llmux/control, PGlite): key check, budget, rpm, spend logs",
  script: "servers/llmux-control-server.js",
};

export const CONTROL_POSTGRES_TARGET: TargetDefinition = {
  name: "llmux-express-keys-pg",
  description:
    "llmux on Express 5, a virtual key (@llmux/control, PostgreSQL): key check, budget, rpm, spend logs",
  script: "servers/llmux-control-server.js",
  env: {
    BENCH_CONTROL_POSTGRES_URL:
      process.env.BENCH_CONTROL_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  },
};

/**
 * The production comparison: everything on (auth, JSONL sink, pricing, OTel→OTLP with content,
 * Prometheus) with the virtual key and spend logs, against `llmux-express-all` (the master key) in one
 * run. The gateway builds the call event for the telemetry anyway, so this is what the control plane
 * adds to a real deployment.
 */
export const CONTROL_ALL_TARGET: TargetDefinition = {
  ...CONTROL_TARGET,
  name: "llmux-express-all-keys",
  description:
    "llmux on Express 5, everything on + a virtual key (@llmux/control, PGlite): key check, budget, rpm, spend logs",
  env: { BENCH_LLMUX_MODE: "all" },
};

export const CONTROL_ALL_POSTGRES_TARGET: TargetDefinition = {
  ...CONTROL_POSTGRES_TARGET,
  name: "llmux-express-all-keys-pg",
  description:
    "llmux on Express 5, everything on + a virtual key (@llmux/control, PostgreSQL): key check, budget, rpm, spend logs",
  env: { ...CONTROL_POSTGRES_TARGET.env, BENCH_LLMUX_MODE: "all" },
};

export const CONTROL_TARGETS: TargetDefinition[] = [
  CONTROL_TARGET,
  CONTROL_POSTGRES_TARGET,
  CONTROL_ALL_TARGET,
  CONTROL_ALL_POSTGRES_TARGET,
];
