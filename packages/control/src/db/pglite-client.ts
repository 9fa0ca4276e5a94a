import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { SqlClient, SqlQuery } from "./sql-client";

/**
 * Embedded PostgreSQL (PGlite, WebAssembly): a data directory, or in memory when `dataDir` is
 * undefined or "memory://". One connection, so transactions are serialised by PGlite itself.
 */
export async function createPgliteClient(dataDir?: string): Promise<SqlClient> {
  const onDisk = dataDir && dataDir !== "memory://" ? resolve(dataDir) : undefined;
  // PGlite creates the data directory itself, not its parents (".llmux/store" on a fresh checkout).
  if (onDisk) mkdirSync(dirname(onDisk), { recursive: true });
  // PostgreSQL's default 128 MB of shared buffers lives in PGlite's WebAssembly memory, inside the
  // host's process (RSS); the control plane's working set (keys, users, teams, recent spend rows) is
  // far smaller, so 16 MB (about 95 MB less RSS) loses nothing: tables beyond it are read from
  // PGlite's file system, which is memory too.
  //
  // WAL: PGlite is one process with no checkpointer; `maintain` checkpoints every minute, after which
  // the WAL segments beyond min/max_wal_size (32/64 MB here, 80 MB/1 GB by default) are removed and the
  // rest recycled. wal_init_zero off: a new segment is not first written full of zeros (16 MB of
  // writes, which in memory:// grow its in-memory file step by step); that only reserves space and
  // never changes what the WAL holds. PGlite already runs with fsync off.
  const database = await PGlite.create(onDisk, {
    postgresqlconf: [
      "shared_buffers = 16MB",
      "max_wal_size = 64MB",
      "min_wal_size = 32MB",
      "wal_init_zero = off",
    ],
  });
  const run = async <Row>(
    target: Pick<PGlite, "query">,
    text: string,
    params?: readonly unknown[],
  ): Promise<Row[]> => (await target.query<Row>(text, params ? [...params] : undefined)).rows;
  return {
    kind: "pglite",
    query: (text, params) => run(database, text, params),
    transaction: (work) =>
      database.transaction((transaction) => {
        const client: SqlQuery = { query: (text, params) => run(transaction, text, params) };
        return work(client);
      }),
    // Without it no checkpoint ever comes (single process: no checkpointer, and max_wal_size is not
    // acted on), so the WAL grows by about 1 kB per spend row for the life of the process: in memory
    // for memory://, on disk otherwise. A checkpoint of a 16 MB buffer pool: about 10-15 ms of CPU.
    maintain: async () => {
      await database.query("CHECKPOINT");
    },
    close: () => database.close(),
  };
}
