/**
 * The one database seam of @llmux/control: PGlite and node-postgres both implement it, so the store,
 * the migrations and the spend writer run the same SQL on either.
 */
export interface SqlClient {
  /** "pglite" or "postgres": for logs and readiness. */
  readonly kind: string;
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs `work` in one transaction on one connection (BEGIN … COMMIT, ROLLBACK when it throws). */
  transaction<T>(work: (client: SqlQuery) => Promise<T>): Promise<T>;
  /**
   * The database's own upkeep, run by the minute maintenance: PGlite has no background processes (no
   * checkpointer), so it checkpoints here and its old WAL segments are recycled; PostgreSQL has none.
   */
  maintain?(): Promise<void>;
  close(): Promise<void>;
}

export type SqlQuery = Pick<SqlClient, "query">;
