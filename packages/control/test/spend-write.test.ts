import { describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/db/migrate";
import { SPEND_WRITE_COLUMNS } from "../src/db/migrations/0005_spend_write";
import { createPgClient } from "../src/db/pg-client";
import { createPgliteClient } from "../src/db/pglite-client";
import type { SqlClient } from "../src/db/sql-client";
import { SPEND_COLUMNS, toSpendEntry } from "../src/spend/spend-entry";
import { SqlControlStore } from "../src/store/sql-control-store";
import { createTestDatabase } from "./postgres";

describe("llmux_write_spend (migration 0005)", () => {
  it("reads a SpendEntry's fields in SPEND_COLUMNS order (the migration's frozen copy matches)", () => {
    expect(SPEND_WRITE_COLUMNS).toEqual(SPEND_COLUMNS);
  });

  it("PGlite: maintain() checkpoints (no checkpointer runs in PGlite), so the WAL before it can be recycled", async () => {
    const client = await createPgliteClient("memory://");
    try {
      expect((await migrateToLatest(client)).error).toBeUndefined();
      const store = new SqlControlStore(client);
      const redo = async () =>
        (
          await client.query<{ redo: string }>("SELECT redo_lsn::text AS redo FROM pg_control_checkpoint()")
        )[0]?.redo;
      await store.insert("key", { token: "hash-b", key_name: "sk-...bbbb" });
      const before = await redo();
      await store.maintain();
      const after = await redo();
      // sent: a key insert, then maintain(); back: the last checkpoint's redo point moved past it
      expect(after).not.toBe(before);
    } finally {
      await client.close();
    }
  });

  for (const [name, open] of [
    [
      "PGlite in memory",
      async () => ({ client: await createPgliteClient("memory://"), drop: async () => {} }),
    ],
    [
      "PostgreSQL 127.0.0.1:5432",
      async () => {
        const database = await createTestDatabase();
        return { client: createPgClient(database.url), drop: database.drop };
      },
    ],
  ] as const) {
    it(`${name}: a batch written twice inserts its rows once and adds their spend once; the spend log queries use the partial indexes`, async () => {
      const { client, drop } = await open();
      try {
        const outcome = await migrateToLatest(client as SqlClient);
        expect(outcome.error).toBeUndefined();
        const store = new SqlControlStore(client as SqlClient);
        await store.insert("key", { token: "hash-a", key_name: "sk-...aaaa", max_budget: 10 });
        const row = (id: string, spend: number, user: string | null) =>
          toSpendEntry({
            request_id: id,
            call_type: "chat",
            api_key: "hash-a",
            key_alias: null,
            user_id: user,
            team_id: null,
            end_user: null,
            model: "gpt-4o-mini",
            model_group: "gpt-4o-mini",
            model_id: null,
            custom_llm_provider: "openai",
            prompt_tokens: 3,
            completion_tokens: 4,
            total_tokens: 7,
            cache_read_input_tokens: 0,
            cache_creation_input_tokens: 0,
            spend,
            status: "success",
            duration_ms: 5,
            start_ms: Date.UTC(2026, 0, 2, 3, 4, 5),
            end_ms: Date.UTC(2026, 0, 2, 3, 4, 5, 5),
            session_id: null,
            request_tags: ["a"],
            metadata: {},
          });
        const batch = [row("call-1", 0.25, null), row("call-2", 0.5, "user-1")];
        const [first] = await client.query<{ written: number }>(
          "SELECT llmux_write_spend($1::jsonb) AS written",
          [JSON.stringify(batch)],
        );
        const [again] = await client.query<{ written: number }>(
          "SELECT llmux_write_spend($1::jsonb) AS written",
          [JSON.stringify(batch)],
        );
        // sent: the same two rows twice; back: 2 inserted, then 0, and the key's spend is 0.75 (not 1.5)
        expect(first?.written).toBe(2);
        expect(again?.written).toBe(0);
        expect((await store.get("key", "hash-a"))?.spend).toBeCloseTo(0.75, 10);
        const logs = await store.spendLogs({ api_key: "hash-a", page: 1, page_size: 10 });
        expect(logs.rows.map((log) => [log.request_id, log.spend, log.request_tags])).toEqual([
          ["call-1", 0.25, ["a"]],
          ["call-2", 0.5, ["a"]],
        ]);
        // The filters by key and user still find an index (partial: rows without a user add no entry).
        await client.query("SET enable_seqscan = off");
        for (const [column, index] of [
          ["api_key", "llmux_spend_logs_api_key_set"],
          ["user_id", "llmux_spend_logs_user_id_set"],
          ["team_id", "llmux_spend_logs_team_id_set"],
        ] as const) {
          const plan = await client.query<{ "QUERY PLAN": string }>(
            `EXPLAIN SELECT * FROM llmux_spend_logs WHERE ${column} = $1 AND start_time >= $2`,
            ["x", new Date(0).toISOString()],
          );
          expect(plan.map((line) => line["QUERY PLAN"]).join("\n")).toContain(index);
        }
      } finally {
        await client.close();
        await drop();
      }
    });
  }
});
