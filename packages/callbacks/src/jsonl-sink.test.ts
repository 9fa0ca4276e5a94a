import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  WriteStream,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createCallbackEngine } from "./callback-engine";
import { jsonlSink } from "./jsonl-sink";
import { makeCallEvent, recordingLogger } from "./test-fixtures";
import type { CallEvent } from "./types";

const folders: string[] = [];
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "llmux-jsonl-"));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function readLines(path: string): CallEvent[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as CallEvent);
}

describe("jsonlSink", () => {
  it("writes one JSON line per call event; shutdown() resolves with the data on disk", async () => {
    const path = join(tempFolder(), "nested", "calls.jsonl");
    const engine = createCallbackEngine({ sinks: [jsonlSink({ path })], logger: recordingLogger() });
    const success = makeCallEvent({ callId: "ok-1" });
    const failure = makeCallEvent({
      callId: "ko-1",
      status: "failure",
      error: { type: "timeout", status: 504, message: "upstream timed out" },
    });
    engine.success(success);
    engine.failure(failure);
    await engine.shutdown();
    // Sent a success and a failure: the file (folder created) holds exactly those two events, in order.
    expect(readLines(path)).toEqual([
      JSON.parse(JSON.stringify(success)),
      JSON.parse(JSON.stringify(failure)),
    ]);
    expect(engine.stats()[0]).toMatchObject({ delivered: 2, errors: 0 });
  });

  it("rotates by size into path.1 … path.maxFiles, newest first, keeping every line whole", async () => {
    const path = join(tempFolder(), "calls.jsonl");
    const maxBytes = 4_000;
    const sink = jsonlSink({ path, maxBytes, maxFiles: 2 });
    const engine = createCallbackEngine({ sinks: [sink], logger: recordingLogger() });
    // Same-length call ids, so every line has the same size.
    const events = Array.from({ length: 20 }, (_, index) =>
      makeCallEvent({ callId: `call-${String(index).padStart(2, "0")}` }),
    );
    const lineBytes = Buffer.byteLength(`${JSON.stringify(events[0])}\n`);
    for (const event of events) engine.success(event);
    await engine.flush();

    const linesPerFile = Math.floor(maxBytes / lineBytes);
    console.log(
      `[callbacks] jsonl rotation: ${lineBytes} bytes per line, ${linesPerFile} lines per ${maxBytes}-byte file`,
    );
    expect(linesPerFile).toBeGreaterThanOrEqual(2);
    // Sent 20 events: live file + 2 rotated files kept; path.3 never exists.
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    for (const file of [path, `${path}.1`, `${path}.2`]) {
      expect(statSync(file).size).toBeLessThanOrEqual(maxBytes);
    }
    const older = readLines(`${path}.2`);
    const old = readLines(`${path}.1`);
    const live = readLines(path);
    expect(older).toHaveLength(linesPerFile);
    expect(old).toHaveLength(linesPerFile);
    // The kept files are, oldest to newest, an unbroken run of the last events sent.
    const kept = [...older, ...old, ...live];
    const expected = events
      .slice(events.length - kept.length)
      .map((event) => JSON.parse(JSON.stringify(event)));
    expect(kept).toEqual(expected);
    expect(kept.at(-1)?.callId).toBe("call-19");
    expect(live.length).toBeGreaterThanOrEqual(1);
    expect(live.length).toBeLessThanOrEqual(linesPerFile);
    await engine.shutdown();
  });

  it("writes the lines of one drain to the stream together (at most 256 per write), in order", async () => {
    const path = join(tempFolder(), "calls.jsonl");
    const writes = vi.spyOn(WriteStream.prototype, "write");
    try {
      const engine = createCallbackEngine({ sinks: [jsonlSink({ path })], logger: recordingLogger() });
      const events = Array.from({ length: 300 }, (_, index) => makeCallEvent({ callId: `batch-${index}` }));
      for (const event of events) engine.success(event);
      await engine.flush();
      // 300 lines of one drain: one write of 256 lines and one of the other 44, not 300 writes
      expect(writes.mock.calls.length).toBeLessThanOrEqual(3);
      expect(readLines(path).map((event) => event.callId)).toEqual(events.map((event) => event.callId));
      await engine.shutdown();
    } finally {
      writes.mockRestore();
    }
  });

  it("keeps multi-byte text, lines longer than its buffer and exact byte sizes (rotation) across buffer ends", async () => {
    const path = join(tempFolder(), "calls.jsonl");
    const text = "Grüße, 世界! 🎉 ";
    // ~300 lines of ~2-3 kB of 2-, 3- and 4-byte characters, one line of ~1.5 MB among them
    const events = Array.from({ length: 300 }, (_, index) =>
      makeCallEvent({
        callId: `multi-${index}`,
        response: { role: "assistant", content: text.repeat(index === 150 ? 60_000 : 60 + (index % 7)) },
      }),
    );
    const lines = events.map((event) => `${JSON.stringify(event)}\n`);
    // one byte short of all the lines: the file rotates exactly before the last one
    const total = lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
    const maxBytes = total - 1;
    const engine = createCallbackEngine({
      sinks: [jsonlSink({ path, maxBytes, maxFiles: 1 })],
      logger: recordingLogger(),
    });
    for (const event of events) engine.success(event);
    await engine.shutdown();
    const rotated = readFileSync(`${path}.1`, "utf8");
    expect(rotated.split("\n").length - 1).toBe(299);
    expect(rotated).toBe(lines.slice(0, 299).join(""));
    expect(readFileSync(path, "utf8")).toBe(lines[299]);
  });

  it("takes a filled buffer again once the stream wrote it, never while a write from it is in flight", async () => {
    const path = join(tempFolder(), "calls.jsonl");
    // every write completes 5 ms late: buffers fill while writes from earlier ones are in flight
    const writev = WriteStream.prototype._writev as NonNullable<WriteStream["_writev"]>;
    const write = WriteStream.prototype._write;
    const slowWritev = vi.spyOn(WriteStream.prototype, "_writev").mockImplementation(function (
      this: WriteStream,
      ...args: Parameters<typeof writev>
    ) {
      setTimeout(() => writev.apply(this, args), 5);
    });
    const slowWrite = vi.spyOn(WriteStream.prototype, "_write").mockImplementation(function (
      this: WriteStream,
      ...args: Parameters<typeof write>
    ) {
      setTimeout(() => write.apply(this, args), 5);
    });
    const allocations = vi.spyOn(Buffer, "allocUnsafe");
    try {
      const engine = createCallbackEngine({ sinks: [jsonlSink({ path })], logger: recordingLogger() });
      // three rounds of 400 lines of about 4.5 kB (about 1.8 MB a round, 512 kB buffers), each flushed
      const expected: string[] = [];
      for (let round = 0; round < 3; round++) {
        for (let index = 0; index < 400; index++) {
          const event = makeCallEvent({
            callId: `round-${round}-${index}`,
            response: { role: "assistant", content: `${round}:${index}:`.padEnd(4_400, "abcdefgh") },
          });
          expected.push(`${JSON.stringify(event)}\n`);
          engine.success(event);
        }
        await engine.flush();
      }
      await engine.shutdown();
      // every line whole and in order: no buffer was written over while the stream still read it
      expect(readFileSync(path, "utf8") === expected.join("")).toBe(true);
      const buffers = allocations.mock.calls.filter(([size]) => size === 512 * 1024).length;
      const filled = Math.floor(expected.join("").length / (512 * 1024));
      // buffers are taken again: fewer made than filled (13 filled here; 14 made when none is taken again)
      expect(filled).toBeGreaterThanOrEqual(9);
      expect(buffers).toBeLessThan(filled);
    } finally {
      slowWritev.mockRestore();
      slowWrite.mockRestore();
      allocations.mockRestore();
    }
  });

  it("counts the size of an existing file and rotates it when the next line would not fit", async () => {
    const path = join(tempFolder(), "calls.jsonl");
    const previous = `${JSON.stringify({ callId: "from-yesterday", padding: "x".repeat(1_900) })}\n`;
    writeFileSync(path, previous);
    const engine = createCallbackEngine({
      sinks: [jsonlSink({ path, maxBytes: 2_500 })],
      logger: recordingLogger(),
    });
    engine.success(makeCallEvent({ callId: "today" }));
    await engine.shutdown();
    // The file held ~1.9 kB; one ~1.4 kB line would pass 2.5 kB: the old content moved to path.1.
    expect(readFileSync(`${path}.1`, "utf8")).toBe(previous);
    expect(readLines(path).map((event) => event.callId)).toEqual(["today"]);
  });

  it("appends to an existing file below the limit without rotating", async () => {
    const path = join(tempFolder(), "calls.jsonl");
    writeFileSync(path, `${JSON.stringify({ callId: "earlier" })}\n`);
    const engine = createCallbackEngine({ sinks: [jsonlSink({ path })], logger: recordingLogger() });
    engine.success(makeCallEvent({ callId: "later" }));
    await engine.flush();
    expect(readLines(path).map((event) => event.callId)).toEqual(["earlier", "later"]);
    expect(existsSync(`${path}.1`)).toBe(false);
    await engine.shutdown();
  });

  it("reports a file it cannot write as a counted sink error, never a throw", async () => {
    const folder = tempFolder();
    const path = join(folder, "is-a-folder");
    mkdirSync(path);
    const logger = recordingLogger();
    const engine = createCallbackEngine({ sinks: [jsonlSink({ path })], logger });
    expect(() => engine.success(makeCallEvent())).not.toThrow();
    await engine.flush();
    // Sent one event to a path that is a folder: the open failure (EISDIR) was counted and logged.
    const stats = engine.stats()[0];
    expect(stats?.errors).toBeGreaterThanOrEqual(1);
    expect(String(logger.entries[0]?.fields?.error)).toContain("EISDIR");
    await engine.shutdown();
  });

  it("requires a path", () => {
    expect(() => jsonlSink({} as { path: string })).toThrow(
      'jsonlSink: option "path" (the file to append to) is required',
    );
  });
});
