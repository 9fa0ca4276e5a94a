import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const repositoryRoot = join(packageRoot, "..", "..");
export const cliPath = join(packageRoot, "dist", "cli.js");

/**
 * The tests run the built command as a user would. Builds it (and the packages it needs) with turbo
 * when dist is missing; `npm test` builds everything first anyway.
 */
export function ensureBuilt(): void {
  const needed = [
    cliPath,
    ...["core", "otel", "prometheus", "mlflow", "callbacks", "pricing"].map((name) =>
      join(repositoryRoot, "packages", name, "dist", "index.js"),
    ),
  ];
  if (needed.every((path) => existsSync(path))) return;
  execFileSync("npx", ["turbo", "run", "build", "--filter=llmux...", "--output-logs=errors-only"], {
    cwd: repositoryRoot,
    stdio: "inherit",
  });
}

/** Every package's dist (the packaging test packs them all); builds with turbo when one is missing. */
export function ensureBuiltAll(): void {
  const packages = join(repositoryRoot, "packages");
  const missing = readdirSync(packages).some(
    (name) =>
      existsSync(join(packages, name, "package.json")) &&
      // The declarations too: `npm start` builds JavaScript only (LLMUX_BUILD_DTS=0).
      !existsSync(join(packages, name, "dist", "index.d.ts")),
  );
  if (!missing) return;
  execFileSync("npx", ["turbo", "run", "build", "--filter=./packages/*", "--output-logs=errors-only"], {
    cwd: repositoryRoot,
    stdio: "inherit",
  });
}
