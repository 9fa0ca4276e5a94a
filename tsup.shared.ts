// Shared tsup settings: ESM + CommonJS with declarations, Node 20 target.
import type { Options } from "tsup";

export const sharedTsup: Options = {
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  // LLMUX_BUILD_DTS=0 (what `npm start` builds with, scripts/build-app.mjs): JavaScript only. The
  // declarations are most of a package's build time and running an app does not need them; every
  // other build makes them. turbo.json lists the variable, so the two builds are cached apart.
  dts: process.env.LLMUX_BUILD_DTS !== "0",
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
  splitting: false,
  treeshake: false,
};
