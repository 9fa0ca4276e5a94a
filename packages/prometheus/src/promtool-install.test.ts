/** The promtool set-up fails loudly, never silently, when promtool is missing and cannot be installed. */
import { afterEach, describe, expect, it } from "vitest";
import { ensurePromtool } from "./test-support/promtool";

const originalPath = process.env["PATH"];
afterEach(() => {
  process.env["PATH"] = originalPath;
});

describe("ensurePromtool", () => {
  it("throws a clear error when promtool is absent and apt-get is unavailable", () => {
    // A PATH with neither promtool nor apt-get on it.
    process.env["PATH"] = "/nonexistent-llmux-path";
    expect(() => ensurePromtool()).toThrow(/promtool could not be installed \(apt-get is not available/);
  });
});
