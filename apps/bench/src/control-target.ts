import type { TargetDefinition } from "./types";

/**
 * The virtual-key target (issue 12), on demand only (not in the default or smoke sets: PGlite takes
 * seconds to start). Measure it against the master-key-only run in the same invocation:
 *   npm run bench -- --targets llmux-express-with:auth,llmux-express-keys,llmux-express-keys-pg
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
