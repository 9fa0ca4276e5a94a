import { migrateToLatest } from "../db/migrate";
import { createPgClient } from "../db/pg-client";
import { createPgliteClient } from "../db/pglite-client";
import type { SqlClient } from "../db/sql-client";
import type { ControlStore } from "./control-store";
import { SqlControlStore } from "./sql-control-store";

export interface StoreLocation {
  /** postgres:// or postgresql:// URL: PostgreSQL through `pg`. */
  databaseUrl?: string;
  /** A PGlite data directory, or "memory://" for an in-memory database (tests). */
  dataDir?: string;
}

/**
 * Opens the configured database, runs the pending migrations (under the advisory lock) and returns the
 * store. Rejects with a clear message when the database cannot be reached or migrated.
 */
export async function openStore(location: StoreLocation): Promise<ControlStore> {
  let client: SqlClient;
  let where: string;
  if (location.databaseUrl) {
    client = createPgClient(location.databaseUrl);
    where = `PostgreSQL at ${describeUrl(location.databaseUrl)}`;
  } else {
    where = `PGlite ${location.dataDir && location.dataDir !== "memory://" ? `in ${location.dataDir}` : "in memory"}`;
    try {
      client = await createPgliteClient(location.dataDir);
    } catch (error) {
      throw new Error(`llmux control plane: cannot open ${where}: ${(error as Error).message}`);
    }
  }
  const outcome = await migrateToLatest(client);
  if (outcome.error) {
    await client.close().catch(() => undefined);
    throw new Error(`llmux control plane: cannot migrate ${where}: ${outcome.error.message}`);
  }
  return new SqlControlStore(client);
}

/** host:port/database without the user or password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}
