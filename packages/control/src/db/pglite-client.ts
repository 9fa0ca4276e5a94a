import { PGlite } from "@electric-sql/pglite";
import type { SqlClient, SqlQuery } from "./sql-client";

/**
 * Embedded PostgreSQL (PGlite, WebAssembly): a data directory, or in memory when `dataDir` is
 * undefined or "memory://". One connection, so transactions are serialised by PGlite itself.
 */
export async function createPgliteClient(dataDir?: string): Promise<SqlClient> {
  const database = await PGlite.create(dataDir && dataDir !== "memory://" ? dataDir : undefined);
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
