import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/db/migrate";
import { MIGRATIONS } from "../src/db/migrations/index";
import { createPgClient } from "../src/db/pg-client";
import { createPgliteClient } from "../src/db/pglite-client";
import { createTestDatabase } from "./postgres";

describe("migrations", () => {
  it("run the whole chain on PGlite once, then report them as applied", async () => {
    const client = await createPgliteClient("memory://");
    const first = await migrateToLatest(client);
    expect(first.error).toBeUndefined();
    expect(first.results.map((result) => result.status)).toEqual(
      Object.keys(MIGRATIONS).map(() => "applied"),
    );
    const again = await migrateToLatest(client, { dryRun: true });
    expect(again.results.every((result) => result.status === "already-applied")).toBe(true);
    await client.close();
  });

  it("refuse a history where an applied migration was edited or renamed, without throwing", async () => {
    const client = await createPgliteClient("memory://");
    await migrateToLatest(client);
    const edited = {
      ...MIGRATIONS,
      "0001_keys": { statements: [...MIGRATIONS["0001_keys"]!.statements, "SELECT 1"] },
    };
    const outcome = await migrateToLatest(client, { migrations: edited });
    expect(outcome.error?.message).toMatch(/'0001_keys' was edited/);
    const { "0002_users_teams": moved, ...rest } = MIGRATIONS;
    const renamed = { ...rest, "0002_users_and_teams": moved! };
    const second = await migrateToLatest(client, { migrations: renamed });
    expect(second.error?.message).toMatch(/history is corrupted: applied '0002_users_teams'/);
    await client.close();
  });

  it("a failing migration rolls the whole run back", async () => {
    const client = await createPgliteClient("memory://");
    const broken = { ...MIGRATIONS, "9999_broken": { statements: ["CREATE TABLE nope (", "SELECT 1"] } };
    const outcome = await migrateToLatest(client, { migrations: broken });
    expect(outcome.error).toBeDefined();
    expect(outcome.results.every((result) => result.status === "not-run")).toBe(true);
    expect(await client.query("SELECT to_regclass('llmux_keys') AS name")).toEqual([{ name: null }]);
    await client.close();
  });

  describe("on PostgreSQL", () => {
    let database: Awaited<ReturnType<typeof createTestDatabase>>;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => {
      await database.drop();
    });

    it("two instances migrating one database at once do not race (advisory lock)", async () => {
      const clients = [
        createPgClient(database.url),
        createPgClient(database.url),
        createPgClient(database.url),
      ];
      const outcomes = await Promise.all(clients.map((client) => migrateToLatest(client)));
      for (const outcome of outcomes) expect(outcome.error).toBeUndefined();
      const applied = outcomes.flatMap((outcome) =>
        outcome.results.filter((result) => result.status === "applied"),
      );
      // Each migration was applied by exactly one of the three.
      expect(applied.map((result) => result.name).sort()).toEqual(Object.keys(MIGRATIONS).sort());
      const rows = await clients[0]!.query<{ count: number }>(
        "SELECT count(*)::int AS count FROM llmux_migrations",
      );
      expect(rows[0]?.count).toBe(Object.keys(MIGRATIONS).length);
      await Promise.all(clients.map((client) => client.close()));
    });
  });
});
