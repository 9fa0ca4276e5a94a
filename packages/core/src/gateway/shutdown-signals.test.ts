import { expect, it } from "vitest";
import { stopPlan } from "./shutdown-signals";

it("the default timeline: 10 s of grace, telemetry flushed by 13 s, forced at 15 s", () => {
  expect(stopPlan(1_000, { env: {} })).toEqual({ graceMs: 10_000, deadline: 14_000, forceAt: 16_000 });
});

it("LLMUX_SHUTDOWN_TIMEOUT_MS and LLMUX_SHUTDOWN_GRACE_MS set it; the flush deadline stays below the force timer", () => {
  expect(
    stopPlan(0, { env: { LLMUX_SHUTDOWN_TIMEOUT_MS: "5000", LLMUX_SHUTDOWN_GRACE_MS: "1000" } }),
  ).toEqual({
    graceMs: 1_000,
    deadline: 4_000,
    forceAt: 5_000,
  });
  // a grace period longer than the timeout ends at the flush deadline
  expect(
    stopPlan(0, { env: { LLMUX_SHUTDOWN_TIMEOUT_MS: "60000", LLMUX_SHUTDOWN_GRACE_MS: "90000" } }),
  ).toEqual({
    graceMs: 58_000,
    deadline: 58_000,
    forceAt: 60_000,
  });
  // options win over the environment; nonsense falls back to the defaults
  expect(stopPlan(0, { timeoutMs: 3_000, env: { LLMUX_SHUTDOWN_TIMEOUT_MS: "soon" } })).toEqual({
    graceMs: 2_000,
    deadline: 2_400,
    forceAt: 3_000,
  });
  expect(stopPlan(0, { env: { LLMUX_SHUTDOWN_TIMEOUT_MS: "-1" } }).forceAt).toBe(15_000);
});
