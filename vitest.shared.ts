// Shared Vitest settings: every workspace package resolves @llmux/* to its TypeScript
// source, so tests run without a build and always see the code beside them.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = dirname(fileURLToPath(import.meta.url));
const alias: Record<string, string> = {};
for (const name of readdirSync(join(root, "packages"))) {
  alias[`@llmux/${name}`] = join(root, "packages", name, "src", "index.ts");
}

export const sharedConfig = defineConfig({
  resolve: { alias },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
