import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import {
  type DescribedError,
  ERROR_FIELDS,
  PGLITE_WORKER_SOURCE,
  type WorkerAnswer,
  type WorkerData,
  type WorkerRequest,
  type WorkerStart,
} from "./pglite-worker-source";
import type { SqlClient, SqlQuery } from "./sql-client";

/** A request without its id, which `send` assigns (Omit spread over each kind of request). */
type WithoutId<Request> = Request extends unknown ? Omit<Request, "id"> : never;
type Unsent = WithoutId<WorkerRequest>;

/**
 * Embedded PostgreSQL (PGlite, WebAssembly): a data directory, or in memory when `dataDir` is
 * undefined or "memory://".
 *
 * PGlite runs in a worker thread, not on the host's thread: PostgreSQL's work (a spend batch costs
 * 30-40 µs of CPU per row; a 100-row batch held the event loop for several ms) runs beside the
 * requests instead of between them, as it does in another process with real PostgreSQL. This side
 * only posts SQL text and parameters and receives rows (structured clone keeps Date, BigInt,
 * Uint8Array and JSON values as PGlite parsed them). One connection, so transactions are serialised
 * by PGlite itself, in the worker: a query from outside waits until an open transaction ends.
 */
export async function createPgliteClient(dataDir?: string): Promise<SqlClient> {
  const onDisk = dataDir && dataDir !== "memory://" ? resolve(dataDir) : undefined;
  // PGlite creates the data directory itself, not its parents (".llmux/store" on a fresh checkout).
  if (onDisk) mkdirSync(dirname(onDisk), { recursive: true });
  const workerData: WorkerData = {
    // Resolved here: the worker's code is an eval'd string with no module path to resolve from, and
    // the host's working directory need not see this package's dependencies.
    moduleUrl: pathToFileURL(createRequire(import.meta.url).resolve("@electric-sql/pglite")).href,
    dataDir: onDisk,
    // PostgreSQL's default 128 MB of shared buffers lives in PGlite's WebAssembly memory, inside the
    // host's process (RSS); the control plane's working set (keys, users, teams, recent spend rows) is
    // far smaller, so 16 MB (about 95 MB less RSS) loses nothing: tables beyond it are read from
    // PGlite's file system, which is memory too.
    //
    // WAL: PGlite is one process with no checkpointer; `maintain` checkpoints every minute, after
    // which the WAL segments beyond min/max_wal_size (32/64 MB here, 80 MB/1 GB by default) are
    // removed and the rest recycled. wal_init_zero off: a new segment is not first written full of
    // zeros (16 MB of writes, which in memory:// grow its in-memory file step by step); that only
    // reserves space and never changes what the WAL holds. PGlite already runs with fsync off.
    options: {
      postgresqlconf: [
        "shared_buffers = 16MB",
        "max_wal_size = 64MB",
        "min_wal_size = 32MB",
        "wal_init_zero = off",
      ],
    },
    errorFields: ERROR_FIELDS,
  };
  const worker = new Worker(PGLITE_WORKER_SOURCE, { eval: true, workerData });
  try {
    await started(worker);
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return new PgliteWorkerClient(worker);
}

/** Resolves once the worker's database is open; rejects with PGlite's reason when it cannot open. */
function started(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    const onMessage = (message: WorkerStart) => {
      stop();
      if (message.ready) resolve();
      else reject(recreate(message.error));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const onExit = (code: number) => {
      stop();
      reject(new Error(`the PGlite worker thread exited (code ${code}) before the database opened`));
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
  });
}

interface Pending {
  resolve(rows: unknown[] | undefined): void;
  reject(error: Error): void;
}

class PgliteWorkerClient implements SqlClient {
  readonly kind = "pglite";
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker is gone (closed or died): every later request rejects with it. */
  private stopped: Error | undefined;
  private closing: Promise<void> | undefined;
  /** Why the worker failed, from its "error" event, for the message of its "exit". */
  private crash: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on("message", (answer: WorkerAnswer) => this.answer(answer));
    worker.on("error", (error) => {
      this.crash = error;
    });
    worker.on("exit", (code) => this.exited(code));
    // Idle, the worker must not keep the host process alive by itself (PGlite on the main thread
    // never did): it is referenced only while a request waits for its answer.
    worker.unref();
  }

  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.sendQuery(text, params, undefined) as Promise<Row[]>;
  }

  /** A statement, inside the transaction named when there is one (postMessage copies the parameters). */
  private sendQuery(text: string, params: readonly unknown[] | undefined, transaction: number | undefined) {
    return this.send({ type: "query", text, params: params as unknown[] | undefined, transaction });
  }

  async transaction<T>(work: (client: SqlQuery) => Promise<T>): Promise<T> {
    // A transaction is named by the id of its "begin", the one `send` is about to assign.
    const transaction = this.nextId;
    await this.send({ type: "begin" });
    const client: SqlQuery = {
      query: <Row>(text: string, params?: readonly unknown[]) =>
        this.sendQuery(text, params, transaction) as Promise<Row[]>,
    };
    let result: T;
    try {
      result = await work(client);
    } catch (error) {
      // PGlite rolls back in the worker; a failed ROLLBACK (a lost worker) must not hide the cause.
      await this.send({ type: "end", transaction, commit: false }).catch(() => undefined);
      throw error;
    }
    await this.send({ type: "end", transaction, commit: true });
    return result;
  }

  // Without it no checkpoint ever comes (single process: no checkpointer, and max_wal_size is not
  // acted on), so the WAL grows by about 1 kB per spend row for the life of the process: in memory
  // for memory://, on disk otherwise. A checkpoint of a 16 MB buffer pool: about 10-15 ms of CPU,
  // in the worker.
  async maintain(): Promise<void> {
    await this.query("CHECKPOINT");
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.send({ type: "close" });
    } finally {
      this.stopped ??= new Error("llmux control plane: the PGlite database is closed");
      await this.worker.terminate();
    }
  }

  private send(request: Unsent): Promise<unknown[] | undefined> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage({ ...request, id });
      } catch (error) {
        // A parameter structured clone cannot copy (a function, a class with private state).
        reject(error);
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
    });
  }

  private answer(answer: WorkerAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker.unref();
    if (answer.error) waiting.reject(recreate(answer.error));
    else waiting.resolve(answer.rows);
  }

  private exited(code: number): void {
    // "closed" in the message: the control plane counts it as a lost database (calls go on with
    // cached keys, spend is buffered), as it does a dropped PostgreSQL connection.
    this.stopped ??= new Error(
      `llmux control plane: the PGlite worker thread stopped unexpectedly (exit code ${code}${
        this.crash ? `: ${this.crash.message}` : ""
      }); the database is closed`,
    );
    for (const waiting of this.pending.values()) waiting.reject(this.stopped);
    this.pending.clear();
    // Not closed by us: said at once, on Node's warning channel (stderr by default; the store has no
    // logger), not only when a later write fails. It is for the life of the process: spend is buffered
    // (bounded) and management calls answer 503 until the host restarts.
    if (!this.closing) {
      process.emitWarning(`${this.stopped.message}; restart the process to reopen it`, {
        code: "LLMUX_PGLITE_WORKER_EXIT",
      });
    }
  }
}

/** The Error the worker described, with PostgreSQL's fields (code, detail, constraint, …) back on it. */
function recreate(described: DescribedError): Error {
  const { message, name, ...fields } = described;
  const error = Object.assign(new Error(message), fields);
  if (typeof name === "string" && name !== "Error") error.name = name;
  return error;
}
