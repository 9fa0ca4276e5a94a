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
  const database = await PGlite.create(onDisk);
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
    close: () => database.close(),
  };
}
