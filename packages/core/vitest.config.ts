import { defineConfig, mergeConfig } from "vitest/config";
import { sharedConfig } from "../../vitest.shared.ts";

// hidden-classes.test.ts compares V8 hidden classes (%HaveSameMap), which needs natives syntax.
export default mergeConfig(sharedConfig, defineConfig({ test: { execArgv: ["--allow-natives-syntax"] } }));
