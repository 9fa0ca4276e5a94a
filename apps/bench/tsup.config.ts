import { defineConfig } from "tsup";

export default defineConfig({
  entry: [
    "src/main.ts",
    "src/profile-summary-cli.ts",
    "src/servers/upstream-server.ts",
    "src/servers/bare-proxy-server.ts",
    "src/servers/llmux-express-server.ts",
    "src/servers/llmux-koa-server.ts",
    "src/servers/llmux-nest-server.ts",
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
