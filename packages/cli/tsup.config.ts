import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { sharedTsup } from "../../tsup.shared";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// Two entries: the library (startServer, checkConfig, runCli) and the `llmux` command (bin → dist/cli.js).
export default defineConfig({
  ...sharedTsup,
  entry: ["src/index.ts", "src/cli.ts"],
  define: { __LLMUX_VERSION__: JSON.stringify(version) },
});
