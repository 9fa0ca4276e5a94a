/**
 * What the PGlite worker thread receives and answers (pglite-client.ts is the other side). Every
 * request carries an id the answer repeats; transactions are named by the id of their "begin".
 */
export type WorkerRequest =
  | { id: number; type: "query"; text: string; params?: unknown[]; transaction?: number }
  | { id: number; type: "begin" }
  | { id: number; type: "end"; transaction: number; commit: boolean }
  | { id: number; type: "close" };

export type WorkerAnswer =
  | { id: number; rows?: unknown[]; error?: undefined }
  | { id: number; error: DescribedError };

/** The first message of the worker: the database opened, or why it did not. */
export type WorkerStart = { ready: true } | { ready: false; error: DescribedError };

/** An Error as plain data (structured clone keeps neither the class nor the extra fields). */
export type DescribedError = { message: string; name?: string } & Record<string, unknown>;

export interface WorkerData {
  /** file: URL of @electric-sql/pglite, resolved by the main side (the worker has no module base). */
  moduleUrl: string;
  dataDir: string | undefined;
  options: { postgresqlconf: string[] };
  errorFields: readonly string[];
}

/**
 * PostgreSQL's fields of an error (pg-protocol's DatabaseError, which PGlite throws) and the SQL text
 * PGlite adds, copied onto the Error the main side re-creates: the store checks `code` (SQLSTATE,
 * "23505" for a duplicate key), and logs read the rest. Not `params` (the values of every column the
 * statement wrote). `detail` may name one value (a duplicate key's, which for llmux_keys is a key's
 * SHA-256): the control plane never sends a database error's text to a client or a log line as is.
 */
export const ERROR_FIELDS = [
  "code",
  "severity",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
  "query",
] as const;

/**
 * The worker's code, run with `new Worker(source, { eval: true })`: a plain CommonJS script, because
 * a worker cannot start from a .ts file (tests run the source) and because the same string works from
 * the ESM and the CommonJS build (no worker file to find next to dist/). It loads PGlite from the URL
 * the main side resolved, opens the database, then answers requests in arrival order; PGlite's own
 * mutexes serialise them exactly as they did on the main thread (a query from outside waits for an
 * open transaction to end; a transaction's queries go through).
 */
export const PGLITE_WORKER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { moduleUrl, dataDir, options, errorFields } = workerData;
const ROLLBACK = Symbol("rollback");
const transactions = new Map();
let database;

function describe(error) {
  if (!(error instanceof Error)) {
    // Emscripten's file system throws plain objects: { name: "ErrnoError", errno: 54 } for a data
    // directory that is a file (its own errno numbers, not the host's).
    if (error === null || typeof error !== "object") return { message: String(error) };
    const parts = [typeof error.message === "string" ? error.message : String(error.name ?? "error")];
    if (error.errno !== undefined) parts.push("(errno " + error.errno + " of PGlite's file system)");
    return { message: parts.join(" ") };
  }
  const described = { message: error.message, name: error.name };
  for (const field of errorFields) {
    const value = error[field];
    if (value !== undefined && value !== null && typeof value !== "object") described[field] = value;
  }
  return described;
}

async function begin(id) {
  let opened;
  const open = new Promise((resolve) => { opened = resolve; });
  const entry = {};
  entry.done = database.transaction((client) => new Promise((commit, rollback) => {
    entry.client = client;
    entry.commit = commit;
    entry.rollback = rollback;
    transactions.set(id, entry);
    opened();
  }));
  // Settled by end(); without this a rollback's rejection would count as unhandled in between.
  entry.done.catch(() => undefined);
  // BEGIN failed (or the database is closing): the transaction's callback never ran.
  await Promise.race([open, entry.done]);
}

async function end(id, commit) {
  const entry = transactions.get(id);
  if (!entry) throw new Error("Transaction is closed");
  transactions.delete(id);
  if (commit) entry.commit();
  else entry.rollback(ROLLBACK);
  try {
    await entry.done;
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
}

async function handle(request) {
  switch (request.type) {
    case "query": {
      const target = request.transaction === undefined ? database : transactions.get(request.transaction)?.client;
      if (!target) throw new Error("Transaction is closed");
      return (await target.query(request.text, request.params)).rows;
    }
    case "begin":
      return begin(request.id);
    case "end":
      return end(request.transaction, request.commit);
    case "close":
      return database.close();
  }
  throw new Error("unknown request " + request.type);
}

// An answer that cannot be posted (a value structured clone cannot copy) or described must not end
// the thread with an unhandled rejection (that would lose the whole database): its caller gets an error.
function answer(id, message) {
  try {
    parentPort.postMessage(message);
  } catch (error) {
    parentPort.postMessage({ id, error: { message: "the PGlite worker could not send its answer: " + String(error) } });
  }
}

function failed(id, error) {
  let described;
  try {
    described = describe(error);
  } catch {
    described = { message: String(error) };
  }
  answer(id, { id, error: described });
}

parentPort.on("message", (request) => {
  handle(request).then(
    (rows) => answer(request.id, { id: request.id, rows }),
    (error) => failed(request.id, error),
  );
});

import(moduleUrl)
  .then(({ PGlite }) => PGlite.create(dataDir, options))
  .then(
    (opened) => {
      database = opened;
      parentPort.postMessage({ ready: true });
    },
    (error) => parentPort.postMessage({ ready: false, error: describe(error) }),
  );
`;
