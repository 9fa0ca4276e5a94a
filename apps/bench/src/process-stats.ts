/**
 * CPU time and resident memory of a process, read from /proc (Linux): utime + stime of
 * /proc/<pid>/stat (every thread of the process: JS, GC, libuv pool) and VmRSS of
 * /proc/<pid>/status. Only the server under test is read, never the load generator.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setPriority } from "node:os";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU milliseconds (user + system) the process has used since it started. */
export function cpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/**
 * CPU milliseconds of the process's main thread only (the JavaScript thread: its task id is the
 * process id), without V8's GC helper threads and libuv's pool. NaN when it cannot be read.
 */
export function mainThreadCpuMs(pid: number): number {
  try {
    return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
  } catch {
    return Number.NaN;
  }
}

function statCpuMs(path: string): number {
  const stat = readFileSync(path, "utf8");
  // the command name (field 2) may hold spaces: fields are counted after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks();
}

/** Resident set size in MiB. */
export function rssMb(pid: number): number {
  return statusMb(pid, "VmRSS");
}

/** Peak resident set size in MiB (VmHWM, the high-water mark since the process started). */
export function rssPeakMb(pid: number): number {
  return statusMb(pid, "VmHWM");
}

function statusMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** true when /proc is there to read (Linux). */
export function procAvailable(): boolean {
  try {
    readFileSync(`/proc/${process.pid}/stat`, "utf8");
    return true;
  } catch {
    return false;
  }
}

function raisePriority(pid: number, priority: number): boolean {
  try {
    setPriority(pid, priority);
    return true;
  } catch {
    return false;
  }
}

/** CPU milliseconds the whole machine spent busy (all cores, /proc/stat), since boot. */
export function machineBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (
    (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) /
    clockTicks()
  );
}

/**
 * Watches how much CPU processes other than the bench's own (load generator, upstream, servers)
 * take while a measurement runs: on a shared machine that is the noise on every figure.
 */
export class MachineMonitor {
  private readonly pids = new Set<number>([process.pid]);
  /** Set by --nice: every process of the bench gets this priority. */
  priority: number | undefined;

  add(pid: number): void {
    this.pids.add(pid);
    if (this.priority !== undefined) raisePriority(pid, this.priority);
  }

  /** Raises the priority of this process and of those spawned from now on; false when not allowed. */
  prioritise(priority: number): boolean {
    this.priority = priority;
    return raisePriority(process.pid, priority);
  }

  snapshot(): { at: number; busyMs: number; oursMs: number } {
    let oursMs = 0;
    for (const pid of this.pids) {
      try {
        oursMs += cpuMs(pid);
      } catch {
        this.pids.delete(pid); // exited
      }
    }
    return { at: performance.now(), busyMs: machineBusyMs(), oursMs };
  }

  /** Average cores used by other processes between two snapshots. */
  static foreignCores(
    before: { at: number; busyMs: number; oursMs: number },
    after: { at: number; busyMs: number; oursMs: number },
  ): number {
    const elapsed = after.at - before.at;
    if (elapsed <= 0) return 0;
    return Math.max(0, after.busyMs - before.busyMs - (after.oursMs - before.oursMs)) / elapsed;
  }
}

/** The bench's own processes: this one and every child it spawned. */
export const machine = new MachineMonitor();
