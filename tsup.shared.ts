// Shared tsup settings: ESM + CommonJS with declarations, Node 20 target.
import type { Options } from "tsup";

export const sharedTsup: Options = {
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
  splitting: false,
  treeshake: false,
};
