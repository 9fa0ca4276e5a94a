import pg from "pg";
import type { SqlClient, SqlQuery } from "./sql-client";

/**
 * int8 and numeric come back as numbers (token sums, counts): the store never holds values beyond 2^53.
 * Set on this pool only, never on the global `pg.types` the host may use itself.
 */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return format ? pg.types.getTypeParser(oid, format) : pg.types.getTypeParser(oid);
  },
};

/** PostgreSQL through node-postgres: a small pool (the control plane does few, batched queries). */
export function createPgClient(connectionString: string, options: { max?: number } = {}): SqlClient {
  const pool = new pg.Pool({
    connectionString,
    types: types as pg.CustomTypesConfig,
    max: options.max ?? 4,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (database restart) must not crash the host process.
  pool.on("error", () => undefined);
  return {
    kind: "postgres",
    async query<Row>(text: string, params?: readonly unknown[]) {
      const result = await pool.query(text, params ? [...params] : undefined);
      return result.rows as Row[];
    },
    async transaction(work) {
      const connection = await pool.connect();
      try {
        await connection.query("BEGIN");
        const client: SqlQuery = {
          async query<Row>(text: string, params?: readonly unknown[]) {
            return (await connection.query(text, params ? [...params] : undefined)).rows as Row[];
          },
        };
        const result = await work(client);
        await connection.query("COMMIT");
        connection.release();
        return result;
      } catch (error) {
        await connection.query("ROLLBACK").catch(() => undefined);
        connection.release(error instanceof Error ? error : true);
        throw error;
      }
    },
    close: () => pool.end(),
  };
}
