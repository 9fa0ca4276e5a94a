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
  splitting: false,
});
