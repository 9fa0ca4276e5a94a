/**
 * The bench reads a server's CPU twice: the whole process (every thread) and its main JavaScript
 * thread alone (/proc/<pid>/task/<pid>/stat). The main thread's is part of the whole.
 */
import { describe, expect, it } from "vitest";
import { cpuMs, mainThreadCpuMs, procAvailable } from "../src/process-stats";

describe("process CPU readings", () => {
  it("reads the main thread's CPU as a part of the process's", () => {
    if (!procAvailable()) {
      console.log("no /proc here: the bench reports no CPU figures on this platform");
      return;
    }
    // some work on this (the main) thread first
    let sum = 0;
    for (let index = 0; index < 5_000_000; index++) sum += index % 7;
    expect(sum).toBeGreaterThan(0);
    const main = mainThreadCpuMs(process.pid);
    const whole = cpuMs(process.pid);
    expect(Number.isFinite(main)).toBe(true);
    expect(main).toBeGreaterThan(0);
    // the kernel rounds per-thread and per-process times apart: allow two clock ticks (20 ms)
    expect(main).toBeLessThanOrEqual(whole + 20);
    expect(Number.isNaN(mainThreadCpuMs(2 ** 22 + 12345))).toBe(true);
  });
});
