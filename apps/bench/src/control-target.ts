import type { TargetDefinition } from "./types";

/**
 * The virtual-key target (issue 12), on demand only (not in the default or smoke sets: PGlite takes
 * seconds to start). Measure it against the master-key-only run in the same invocation:
 *   npm run bench -- --targets llmux-express-with:auth,llmux-express-keys
 */
export const CONTROL_TARGET: TargetDefinition = {
  name: "llmux-express-keys",
  description:
    "llmux on Express 5, a virtual key (@llmux/control, PGlite): key check, budget, rpm, spend logs",
  script: "servers/llmux-control-server.js",
};
