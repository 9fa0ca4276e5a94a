/**
 * A sink that appends one JSON line per finished call (the CallEvent as is) to a file, through a
 * buffered append stream, rotating by size: when a line would take the file past `maxBytes`, the
 * file becomes `path.1`, `path.1` becomes `path.2`, … and `path.maxFiles` is overwritten.
 * Handlers return nothing while the stream accepts data, and a promise while it rotates or is
 * over its high-water mark, so the engine's bounded queue (not memory) absorbs a slow disk.
 * Lines are encoded into one buffer as they come (the JSON text written once, as UTF-8, which also
 * gives its size) and written to the stream together, BATCH_DELAY_MS after the first of them or at
 * 256 lines: one stream write and one file write (a job on libuv's thread pool) per batch instead
 * of per line or per tick, and no joined string to copy and encode again. The timer is ref'd: a
 * process that ends on its own writes its last lines first.
 * `flush()` / `shutdown()` resolve once every line is written (and fsync'ed, by default).
 */
import { createWriteStream, fsync, mkdirSync, statSync, type WriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { JsonlSinkOptions } from "./api-types";
import { safeJsonStringify } from "./safe-json";
import type { CallbackSink, CallEvent } from "./types";

const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
const DEFAULT_MAX_FILES = 5;
/** Lines written to the stream in one write at most (about 256 kB of typical call events). */
const MAX_BATCH_LINES = 256;
/**
 * How long appended lines wait for more before they are written. At a few thousand calls a second
 * a batch per tick is a few lines, and each write costs a thread-pool round trip and a syscall.
 */
const BATCH_DELAY_MS = 50;
/** Bytes of a fresh buffer for lines (more when one line needs more). */
const CHUNK_BYTES = 512 * 1024;
const NEWLINE = 0x0a;

/**
 * A buffer lines are encoded into, with its writes in flight. Once it is no longer the one lines go
 * to and its last write is done it is taken again, rather than left to the garbage collector: a
 * buffer fills over a few hundred ms, long enough to outlive V8's young-generation collections, and
 * the malloc'd memory of one that did comes back only at a full collection (the bench's server held
 * 7 MB more of malloc heap with a JSONL sink when each buffer was new).
 */
interface LineBuffer {
  readonly buffer: Buffer;
  writing: number;
}

/** A buffer of the usual size that no write reads any more (one made for a long line is let go). */
function takenAgain(lines: LineBuffer): boolean {
  return lines.writing === 0 && lines.buffer.length === CHUNK_BYTES;
}

/** Resolves when the stream takes data again (or closes). */
function waitForDrain(stream: WriteStream): Promise<void> {
  return new Promise((resolveDrain) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolveDrain();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolveEnd) => {
    if (stream.closed || stream.destroyed) {
      resolveEnd();
      return;
    }
    stream.once("close", () => resolveEnd());
    stream.end();
  });
}

class JsonlSink implements CallbackSink {
  readonly name: string;
  readonly only: "all" | "success" | "failure";
  private readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly fsyncOnFlush: boolean;
  private stream: WriteStream;
  private size: number;
  private pendingWrites = 0;
  private writeWaiters: Array<() => void> = [];
  private rotating: Promise<void> | undefined;
  private streamError: unknown;
  private closed = false;
  private shutdownPromise: Promise<void> | undefined;
  /**
   * Lines appended since the last stream write, encoded in `chunk[0, chunkBytes)` (written
   * together by writeBatch; the rest of the chunk takes the next lines).
   */
  private chunk: Buffer = Buffer.allocUnsafe(0);
  private chunkBytes = 0;
  private chunkLines = 0;
  /** The buffer `chunk` is the unwritten rest of, and a filled one whose writes are all done. */
  private lineBuffer: LineBuffer = { buffer: this.chunk, writing: 0 };
  private spare: Buffer | undefined;
  private batchScheduled = false;
  private readonly writeBatchLater = (): void => {
    this.batchScheduled = false;
    // a full stream is waited for by the next append (writableNeedDrain), not here
    void this.writeBatch();
  };
  private readonly onWritten = (error?: Error | null): void => {
    if (error) this.streamError ??= error;
    this.pendingWrites--;
    if (this.pendingWrites === 0) {
      const waiters = this.writeWaiters;
      this.writeWaiters = [];
      for (const waiter of waiters) waiter();
    }
  };

  constructor(options: JsonlSinkOptions) {
    if (typeof options?.path !== "string" || options.path === "") {
      throw new TypeError('jsonlSink: option "path" (the file to append to) is required');
    }
    this.name = options.name ?? "jsonl";
    this.only = options.only ?? "all";
    this.path = resolve(options.path);
    this.maxBytes =
      typeof options.maxBytes === "number" && options.maxBytes > 0 ? options.maxBytes : DEFAULT_MAX_BYTES;
    this.maxFiles =
      typeof options.maxFiles === "number" && options.maxFiles >= 0
        ? Math.floor(options.maxFiles)
        : DEFAULT_MAX_FILES;
    this.fsyncOnFlush = options.fsync ?? true;
    mkdirSync(dirname(this.path), { recursive: true });
    try {
      this.size = statSync(this.path).size;
    } catch {
      this.size = 0;
    }
    this.stream = this.open();
  }

  onSuccess(event: CallEvent): void | Promise<void> {
    return this.write(event);
  }

  onFailure(event: CallEvent): void | Promise<void> {
    return this.write(event);
  }

  async flush(): Promise<void> {
    while (this.rotating !== undefined) await this.rotating;
    await this.writeBatch();
    if (this.pendingWrites > 0) {
      await new Promise<void>((resolveWrites) => this.writeWaiters.push(resolveWrites));
    }
    const error = this.takeStreamError();
    if (error !== undefined) throw error;
    if (this.fsyncOnFlush) await this.sync();
  }

  shutdown(): Promise<void> {
    if (this.shutdownPromise === undefined) {
      this.closed = true;
      this.shutdownPromise = (async () => {
        try {
          await this.flush();
        } finally {
          await endStream(this.stream);
        }
      })();
    }
    return this.shutdownPromise;
  }

  private write(event: CallEvent): void | Promise<void> {
    if (this.closed) return;
    const error = this.takeStreamError();
    if (error !== undefined) {
      // The stream broke (disk full, permissions…): report it once, then try a fresh stream.
      this.stream.destroy();
      this.stream = this.open();
      throw error;
    }
    if (this.rotating !== undefined) {
      return this.rotating.then(() => this.write(event));
    }
    const json = safeJsonStringify(event);
    // at most 3 bytes of UTF-8 per UTF-16 unit, and the newline; counted only near the chunk's end
    const room = this.chunk.length - this.chunkBytes;
    if (room < json.length * 3 + 1) this.reserve(Buffer.byteLength(json) + 1);
    const start = this.chunkBytes;
    const chunk = this.chunk;
    const end = start + chunk.write(json, start, "utf8");
    chunk[end] = NEWLINE;
    const bytes = end + 1 - start;
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      // the line starts the next file; the lines before it belong to the file being rotated out
      const line = Buffer.from(chunk.subarray(start, start + bytes));
      void this.writeBatch();
      const rotation = this.rotate().finally(() => {
        this.rotating = undefined;
      });
      this.rotating = rotation;
      return rotation.then(() => this.appendLine(line));
    }
    this.chunkBytes = start + bytes;
    return this.appended(bytes);
  }

  /** Room for `bytes` more in the chunk: the lines in it are written first when it is short. */
  private reserve(bytes: number): void {
    if (this.chunk.length - this.chunkBytes >= bytes) return;
    void this.writeBatch();
    // the filled buffer again when no write reads it any more, else the spare (see LineBuffer)
    const filled = this.lineBuffer;
    let buffer = takenAgain(filled) ? filled.buffer : this.spare;
    if (buffer === this.spare) this.spare = undefined;
    if (buffer === undefined || buffer.length < bytes)
      buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.lineBuffer = { buffer, writing: 0 };
    this.chunk = buffer;
  }

  /** A line encoded before a rotation, appended to the new file. */
  private appendLine(line: Buffer): void | Promise<void> {
    this.reserve(line.length);
    line.copy(this.chunk, this.chunkBytes);
    this.chunkBytes += line.length;
    return this.appended(line.length);
  }

  private appended(bytes: number): void | Promise<void> {
    this.size += bytes;
    if (++this.chunkLines >= MAX_BATCH_LINES) return this.writeBatch();
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setTimeout(this.writeBatchLater, BATCH_DELAY_MS);
    }
    if (this.stream.writableNeedDrain) return waitForDrain(this.stream);
  }

  /** Writes the appended lines as one chunk; a promise while the stream is over its high-water mark. */
  private writeBatch(): void | Promise<void> {
    const bytes = this.chunkBytes;
    if (bytes === 0) return;
    const data = this.chunk.subarray(0, bytes);
    // the stream keeps its slice; the next lines go to the rest of the buffer
    this.chunk = this.chunk.subarray(bytes);
    this.chunkBytes = 0;
    this.chunkLines = 0;
    this.pendingWrites++;
    const lines = this.lineBuffer;
    lines.writing++;
    const written = this.stream.write(data, (error?: Error | null) => {
      lines.writing--;
      // a filled buffer (no longer the one lines go to) whose last write is done
      if (lines !== this.lineBuffer && takenAgain(lines)) this.spare = lines.buffer;
      this.onWritten(error);
    });
    if (written) return;
    return waitForDrain(this.stream);
  }

  private async rotate(): Promise<void> {
    const old = this.stream;
    try {
      await endStream(old);
      if (this.maxFiles === 0) {
        await unlink(this.path).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
      } else {
        for (let index = this.maxFiles - 1; index >= 1; index--) {
          await renameIfExists(`${this.path}.${index}`, `${this.path}.${index + 1}`);
        }
        await renameIfExists(this.path, `${this.path}.1`);
      }
    } finally {
      try {
        this.size = statSync(this.path).size;
      } catch {
        this.size = 0;
      }
      this.stream = this.open();
    }
  }

  private open(): WriteStream {
    const stream = createWriteStream(this.path, { flags: "a" });
    stream.on("error", (error) => {
      this.streamError ??= error;
    });
    return stream;
  }

  private takeStreamError(): unknown {
    const error = this.streamError;
    this.streamError = undefined;
    return error;
  }

  private sync(): Promise<void> {
    // WriteStream has `fd` at run time (null until open); @types/node does not declare it.
    const fd = (this.stream as unknown as { fd?: number | null }).fd;
    if (typeof fd !== "number") return Promise.resolve();
    return new Promise((resolveSync, rejectSync) => {
      fsync(fd, (error) => (error ? rejectSync(error) : resolveSync()));
    });
  }
}

/**
 * Appends one JSON line per finished call to `path`, rotating by size into `path.1` … `path.N`.
 * Throws a TypeError without `path`.
 */
export function jsonlSink(options: JsonlSinkOptions): CallbackSink {
  return new JsonlSink(options);
}
