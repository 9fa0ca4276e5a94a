import { mergeConfig } from "vitest/config";
import { sharedConfig } from "../../vitest.shared.ts";

// Tests that count per-minute windows first wait to be at least 5-20 s away from a minute's edge
// (awayFromMinuteEdge): up to 20 s of waiting before the test's own work, so the shared 20 s
// timeout is too short for them when they start near an edge.
export default mergeConfig(sharedConfig, { test: { testTimeout: 60_000 } });
