// Shared tsup settings of the reference apps: ESM, entry main.ts (which imports app.js lazily, after
// tracing is set up) and the llmux packages loaded from their own dist (not bundled), so their data
// files (prices) resolve.
import type { Options } from "tsup";

export const appTsup: Options = {
  entry: ["src/main.ts", "src/app.ts"],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
  skipNodeModulesBundle: true,
  esbuildOptions(options) {
    options.external = [...(options.external ?? []), "@llmux/*", "./app.js"];
  },
  splitting: false,
};
