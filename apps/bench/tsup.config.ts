import { defineConfig } from "tsup";

export default defineConfig({
  entry: [
    "src/main.ts",
    "src/profile-summary-cli.ts",
    // the targets by name (findTarget), for micro/ab-targets.mjs
    "src/plan.ts",
    // every child server: src/servers/<name>-server.ts → dist/servers/<name>-server.js
    "src/servers/*-server.ts",
  ],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
  skipNodeModulesBundle: true,
  // the built packages, as a host installs them (never their sources through tsconfig paths)
  external: [/^@llmux\//],
  tsconfig: "tsconfig.build.json",
  splitting: false,
});
