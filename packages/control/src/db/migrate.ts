import { createHash } from "node:crypto";
import type { Migration } from "./migration";
import { MIGRATIONS } from "./migrations/index";
import type { SqlClient } from "./sql-client";

/** A fixed id for pg_advisory_xact_lock: every llmux instance on one database takes the same lock. */
const MIGRATION_LOCK_ID = 7_236_415_001;

export interface MigrationResult {
  name: string;
  status: "applied" | "already-applied" | "pending" | "not-run";
}

export interface MigrateOutcome {
  results: MigrationResult[];
  /** Set when the history is not a prefix of the known migrations, or a statement failed. */
  error?: Error;
}

/**
 * Brings the schema to the latest migration, like kysely's Migrator: one transaction holding a
 * transaction-level advisory lock (two instances starting at once wait for each other; commit
 * releases it), a `llmux_migrations(name, checksum, applied_at)` table, and a check that the applied
 * names are a prefix of the sorted known names with the same checksums (an edited or renamed migration
 * is refused). Never throws: the outcome carries the error. With `dryRun`, lists what would run.
 */
export async function migrateToLatest(
  client: SqlClient,
  options: { migrations?: Readonly<Record<string, Migration>>; dryRun?: boolean } = {},
): Promise<MigrateOutcome> {
  const migrations = options.migrations ?? MIGRATIONS;
  const names = Object.keys(migrations).sort();
  const results: MigrationResult[] = [];
  try {
    await client.transaction(async (transaction) => {
      await transaction.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`);
      await transaction.query(
        `CREATE TABLE IF NOT EXISTS llmux_migrations (
          name TEXT PRIMARY KEY,
          checksum TEXT NOT NULL,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )`,
      );
      const applied = await transaction.query<{ name: string; checksum: string }>(
        "SELECT name, checksum FROM llmux_migrations ORDER BY name",
      );
      for (const [index, row] of applied.entries()) {
        const expected = names[index];
        if (expected !== row.name) {
          throw new Error(
            `migration history is corrupted: applied '${row.name}' where llmux expects '${expected ?? "nothing"}' (a migration was renamed or removed, or this database was migrated by a newer llmux)`,
          );
        }
        if (checksum(migrations[expected]!) !== row.checksum) {
          throw new Error(
            `migration '${row.name}' was edited after it was applied; add a new migration instead`,
          );
        }
        results.push({ name: row.name, status: "already-applied" });
      }
      for (const name of names.slice(applied.length)) {
        if (options.dryRun) {
          results.push({ name, status: "pending" });
          continue;
        }
        const migration = migrations[name]!;
        for (const statement of migration.statements) await transaction.query(statement);
        await transaction.query("INSERT INTO llmux_migrations (name, checksum) VALUES ($1, $2)", [
          name,
          checksum(migration),
        ]);
        results.push({ name, status: "applied" });
      }
    });
    return { results };
  } catch (error) {
    // The transaction rolled back: nothing it applied stays applied.
    for (const result of results) if (result.status === "applied") result.status = "not-run";
    for (const name of names) {
      if (!results.some((result) => result.name === name)) results.push({ name, status: "not-run" });
    }
    return { results, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

function checksum(migration: Migration): string {
  return createHash("sha256").update(migration.statements.join("\n;\n")).digest("hex");
}
