import { migrateToLatest } from "../src/db/migrate";
import { createPgClient } from "../src/db/pg-client";
import { createPgliteClient } from "../src/db/pglite-client";
import { SqlControlStore } from "../src/store/sql-control-store";
import { createTestDatabase } from "./postgres";
import { controlStoreContract } from "./store-contract";

controlStoreContract("PGlite in memory", async () => {
  const client = await createPgliteClient("memory://");
  const outcome = await migrateToLatest(client);
  if (outcome.error) throw outcome.error;
  const store = new SqlControlStore(client);
  return { store, close: () => store.close() };
});

controlStoreContract("PostgreSQL 127.0.0.1:5432", async () => {
  const database = await createTestDatabase();
  const client = createPgClient(database.url);
  const outcome = await migrateToLatest(client);
  if (outcome.error) throw outcome.error;
  const store = new SqlControlStore(client);
  return {
    store,
    async close() {
      await store.close();
      await database.drop();
    },
  };
});
