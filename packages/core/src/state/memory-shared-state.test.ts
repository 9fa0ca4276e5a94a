import { afterEach, describe, expect, it } from "vitest";
import { MemorySharedState } from "./memory-shared-state";
import { sharedStateContract } from "./shared-state-contract";

sharedStateContract("memory", (clock) => new MemorySharedState(clock), { describe, it, expect, afterEach });

describe("MemorySharedState", () => {
  it("sweeps expired windows so memory stays bounded by live keys", async () => {
    let now = 1_000_000;
    const store = new MemorySharedState({ now: () => now }, 10);
    for (let index = 0; index < 100; index++) {
      await store.incrWindow(`k${index}`, 1, 1_000);
      now += 1_000;
    }
    // 100 windows written, one per second; the sweep every 10 writes removed the expired ones
    const size = (store as unknown as { entries: Map<string, unknown> }).entries.size;
    expect(size).toBeLessThanOrEqual(10);
  });
});
