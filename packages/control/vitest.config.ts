import { mergeConfig } from "vitest/config";
import { sharedConfig } from "../../vitest.shared.ts";

// PGlite compiles its WebAssembly when a database opens: seconds on a loaded machine, so the
// timeouts are generous (they bound a hang, they do not measure speed).
// Two files at a time (the default on 2 cores is one): every test makes its own database with a random
// name (test/postgres.ts) or its own server on a free port, so files do not share state; the suite,
// the longest of CI's, takes 86 s instead of 127 s here.
export default mergeConfig(sharedConfig, {
  test: { testTimeout: 120_000, hookTimeout: 120_000, maxWorkers: 2 },
});
