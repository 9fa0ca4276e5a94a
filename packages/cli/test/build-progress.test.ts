/**
 * The progress lines of `npm start`'s build (scripts/build-progress.mjs) from turbo's NDJSON events:
 * the count of packages, one line when a package starts and when it is built or comes from the cache,
 * the app built ESM-only, what is still running, and the failed package's output.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error a plain .mjs script of the repository, without declarations
import { createBuildProgress } from "../../../scripts/build-progress.mjs";

const event = (source: string, text: string) => JSON.stringify({ source, level: "stdout", text });

describe("npm start's build progress", () => {
  it("prints the scope, each package starting and finishing, cache hits, and the app (ESM only)", () => {
    const lines: string[] = [];
    let clock = 1_000;
    const progress = createBuildProgress({
      appName: "@llmux/app-express",
      appLabel: "the Express reference app",
      print: (line: string) => lines.push(line),
      now: () => clock,
    });
    progress.line(event("turbo", "   • Packages in scope: @llmux/app-express, @llmux/core, @llmux/pricing"));
    progress.line(event("@llmux/pricing#build", "cache hit, replaying logs 88186eb20206b871"));
    progress.line(event("@llmux/pricing#build", "CJS ⚡️ Build success in 189ms"));
    progress.line(event("@llmux/pricing#build", "ESM ⚡️ Build success in 191ms"));
    progress.line(event("@llmux/core#build", "cache miss, executing 10340af2de71110a"));
    progress.line(event("@llmux/core#build", "ESM ⚡️ Build success in 1200ms"));
    expect(progress.running()).toEqual(["@llmux/core"]);
    clock += 4_500;
    progress.line(event("@llmux/core#build", "CJS ⚡️ Build success in 1300ms"));
    progress.line(event("@llmux/app-express#build", "cache miss, executing 5d1c"));
    clock += 2_000;
    progress.line(event("@llmux/app-express#build", "ESM ⚡️ Build success in 90ms"));
    progress.line("not json: ignored for the progress, kept for a failure report");
    expect(lines).toEqual([
      "llmux: building the Express reference app and the 2 packages it needs (JavaScript only; `npm run build` also makes the type declarations)",
      "  [1/3] @llmux/pricing: up to date (turbo cache)",
      "  building @llmux/core",
      "  [2/3] built @llmux/core in 4.5 s",
      "  building @llmux/app-express",
      "  [3/3] built @llmux/app-express in 2.0 s",
    ]);
    expect(progress.running()).toEqual([]);
  });

  it("reports the output of the package that failed and turbo's own lines", () => {
    const progress = createBuildProgress({
      appName: "@llmux/app-koa",
      appLabel: "the Koa reference app",
      print: () => undefined,
    });
    progress.line(event("turbo", "   • Packages in scope: @llmux/app-koa, @llmux/core"));
    progress.line(event("@llmux/core#build", "cache miss, executing 1"));
    progress.line(event("@llmux/core#build", "src/index.ts(1,1): error TS1005: ';' expected."));
    progress.stderr(" ERROR  run failed: command  exited (1)");
    const report = progress.failureReport();
    expect(report).toContain("--- @llmux/core");
    expect(report).toContain("src/index.ts(1,1): error TS1005: ';' expected.");
    expect(report.at(-1)).toBe(" ERROR  run failed: command  exited (1)");
  });
});
