import { mergeConfig } from "vitest/config";
import { sharedConfig } from "../../vitest.shared.ts";

// PGlite compiles its WebAssembly when a database opens: seconds on a loaded machine, so the
// timeouts are generous (they bound a hang, they do not measure speed).
export default mergeConfig(sharedConfig, { test: { testTimeout: 120_000, hookTimeout: 120_000 } });
