/** One forward-only schema step: plain SQL statements, run in order inside the migration transaction. */
export interface Migration {
  readonly statements: readonly string[];
}
