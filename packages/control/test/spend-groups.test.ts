import { describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/db/migrate";
import { createPgClient } from "../src/db/pg-client";
import { createPgliteClient } from "../src/db/pglite-client";
import type { SqlClient } from "../src/db/sql-client";
import { type SpendEntry, type SpendFields, toSpendEntry } from "../src/spend/spend-entry";
import { spendGroups } from "../src/spend/spend-groups";
import { SqlControlStore } from "../src/store/sql-control-store";
import { createTestDatabase } from "./postgres";

function entry(id: string, fields: Partial<SpendFields> = {}): SpendEntry {
  return toSpendEntry({
    request_id: id,
    call_type: "chat",
    api_key: "hash-a",
    key_alias: "alias-a",
    user_id: null,
    team_id: null,
    end_user: "end-user-1",
    model: "gpt-4o-mini",
    model_group: "mini",
    model_id: "deployment-1",
    custom_llm_provider: "openai",
    prompt_tokens: 3,
    completion_tokens: 4,
    total_tokens: 7,
    cache_read_input_tokens: 1,
    cache_creation_input_tokens: 2,
    spend: 0.25,
    status: "success",
    duration_ms: 5,
    start_ms: Date.UTC(2026, 0, 2, 3, 4, 5, 120),
    end_ms: Date.UTC(2026, 0, 2, 3, 4, 5, 125),
    session_id: "session-1",
    request_tags: ["a", "b"],
    metadata: { error_type: "x" },
    ...fields,
  });
}

describe("spendGroups (the batch llmux_write_spend_groups reads)", () => {
  it("names each run of one key, alias, user and team once, the rows' order kept", () => {
    const rows = [
      entry("1"),
      entry("2"),
      entry("3", { user_id: "user-1" }),
      entry("4"),
      entry("5", { api_key: null, key_alias: null, team_id: "team-1" }),
    ];
    const groups = spendGroups(rows);
    // sent: five rows, the third of a user and the fifth of a team without a key; back: four runs
    expect(groups.map((group) => group.slice(0, 4))).toEqual([
      ["hash-a", "alias-a", null, null],
      ["hash-a", "alias-a", "user-1", null],
      ["hash-a", "alias-a", null, null],
      [null, null, null, "team-1"],
    ]);
    expect(groups.map((group) => group[4].map((row) => row[0]))).toEqual([["1", "2"], ["3"], ["4"], ["5"]]);
    // each row is the entry without fields 2..5 (20 of 24)
    const first = rows[0]!;
    expect(groups[0]![4][0]).toEqual([...first.slice(0, 2), ...first.slice(6)]);
  });
});

describe("llmux_write_spend_groups (migration 0006)", () => {
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
    it(`${name}: every field of interleaved subjects' rows is stored as sent; a batch written twice adds its rows and spend once`, async () => {
      const { client, drop } = await open();
      try {
        expect((await migrateToLatest(client as SqlClient)).error).toBeUndefined();
        const store = new SqlControlStore(client as SqlClient);
        await store.insert("key", { token: "hash-a", key_name: "sk-...aaaa", max_budget: 10 });
        await store.insert("key", { token: "hash-b", key_name: "sk-...bbbb", max_budget: 10 });
        await store.insert("user", { user_id: "user-1" });
        await store.insert("team", { team_id: "team-1" });
        const batch = {
          rows: [
            entry("call-1"),
            entry("call-2", { api_key: "hash-b", key_alias: null, spend: 0.5, user_id: "user-1" }),
            entry("call-3", { spend: 1, team_id: "team-1", status: "failure", request_tags: [] }),
            entry("call-4", { api_key: null, key_alias: null, user_id: "user-1", spend: 2, metadata: {} }),
          ],
        };
        await store.writeSpend(batch);
        await store.writeSpend(batch);
        // sent: four rows of three subjects, twice; back: four rows and each subject's spend once
        expect((await store.get("key", "hash-a"))?.spend).toBeCloseTo(1.25, 10);
        expect((await store.get("key", "hash-b"))?.spend).toBeCloseTo(0.5, 10);
        expect((await store.get("user", "user-1"))?.spend).toBeCloseTo(2.5, 10);
        expect((await store.get("team", "team-1"))?.spend).toBeCloseTo(1, 10);
        const logs = await store.spendLogs({ page: 1, page_size: 10 });
        const byId = new Map(logs.rows.map((row) => [row.request_id, row]));
        expect(logs.total).toBe(4);
        expect(byId.get("call-1")).toEqual({
          request_id: "call-1",
          call_type: "chat",
          api_key: "hash-a",
          key_alias: "alias-a",
          user: null,
          team_id: null,
          end_user: "end-user-1",
          model: "gpt-4o-mini",
          model_group: "mini",
          model_id: "deployment-1",
          custom_llm_provider: "openai",
          prompt_tokens: 3,
          completion_tokens: 4,
          total_tokens: 7,
          cache_read_input_tokens: 1,
          cache_creation_input_tokens: 2,
          spend: 0.25,
          status: "success",
          duration_ms: 5,
          startTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 120)).toISOString(),
          endTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 125)).toISOString(),
          session_id: "session-1",
          request_tags: ["a", "b"],
          metadata: { error_type: "x" },
        });
        expect(
          ["call-2", "call-3", "call-4"].map((id) => {
            const row = byId.get(id)!;
            return [row.api_key, row.key_alias, row.user, row.team_id, row.status, row.request_tags];
          }),
        ).toEqual([
          ["hash-b", null, "user-1", null, "success", ["a", "b"]],
          ["hash-a", "alias-a", null, "team-1", "failure", []],
          [null, null, "user-1", null, "success", ["a", "b"]],
        ]);
      } finally {
        await client.close();
        await drop();
      }
    });
  }
});
