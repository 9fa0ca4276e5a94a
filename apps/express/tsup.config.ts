import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/main.ts", "src/app.ts"],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
  skipNodeModulesBundle: true,
  // The llmux packages load from their own dist (not bundled), so their data files (prices) resolve.
  esbuildOptions(options) {
    // main.ts imports the app lazily (after tracing is set up): keep "./app.js" a runtime import.
    options.external = [...(options.external ?? []), "@llmux/*", "./app.js"];
  },
  splitting: false,
});
