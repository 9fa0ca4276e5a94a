import { defineConfig } from "tsup";
import { sharedTsup } from "../../tsup.shared";

// Two entries: the library and the `llmux-mock` command (bin → dist/cli.js).
export default defineConfig({ ...sharedTsup, entry: ["src/index.ts", "src/cli.ts"] });
