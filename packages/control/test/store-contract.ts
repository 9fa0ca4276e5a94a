import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SpendEntry, toSpendEntry } from "../src/spend/spend-entry";
import type { ControlStore } from "../src/store/control-store";

/** The same behaviour asked of every ControlStore (PGlite, PostgreSQL), in the shape of Keyv's test suite. */
export function controlStoreContract(
  name: string,
  open: () => Promise<{ store: ControlStore; close(): Promise<void> }>,
) {
  describe(`ControlStore contract: ${name}`, () => {
    let store: ControlStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => {
      await close();
    });

    it("creates, reads, updates, lists and deletes keys by their hash", async () => {
      const created = await store.insert("key", {
        token: "a".repeat(64),
        key_name: "sk-...aaaa",
        key_alias: "alias-a",
        user_id: "user-1",
        models: ["gpt-4o-mini"],
        max_budget: 1.5,
        metadata: { app: "search" },
      });
      expect(created).toMatchObject({
        token: "a".repeat(64),
        key_alias: "alias-a",
        spend: 0,
        blocked: false,
        models: ["gpt-4o-mini"],
        metadata: { app: "search" },
        max_budget: 1.5,
      });
      expect(typeof created.created_at).toBe("string");
      expect((await store.get("key", "a".repeat(64)))?.key_alias).toBe("alias-a");
      expect((await store.keyByAlias("alias-a"))?.token).toBe("a".repeat(64));
      const updated = await store.update("key", "a".repeat(64), { blocked: true, models: [], rpm_limit: 3 });
      expect(updated).toMatchObject({ blocked: true, models: [], rpm_limit: 3, key_alias: "alias-a" });
      expect(await store.update("key", "f".repeat(64), { blocked: true })).toBeUndefined();
      await store.insert("key", { token: "b".repeat(64), key_name: "sk-...bbbb", user_id: "user-2" });
      const listed = await store.list("key", { user_id: "user-1", page: 1, page_size: 10 });
      expect(listed.total).toBe(1);
      expect(listed.rows[0]?.token).toBe("a".repeat(64));
      const replaced = await store.replaceToken("b".repeat(64), "c".repeat(64), "sk-...cccc");
      expect(replaced?.token).toBe("c".repeat(64));
      expect(await store.get("key", "b".repeat(64))).toBeUndefined();
      expect(await store.delete("key", ["c".repeat(64), "d".repeat(64)])).toEqual(["c".repeat(64)]);
    });

    it("a duplicate alias is refused by the database", async () => {
      await expect(
        store.insert("key", { token: "e".repeat(64), key_name: "x", key_alias: "alias-a" }),
      ).rejects.toThrow();
    });

    it("keeps users and teams with members", async () => {
      await store.insert("user", { user_id: "user-1", max_budget: 10, user_role: "proxy_admin" });
      await store.insert("team", {
        team_id: "team-1",
        team_alias: "search",
        members_with_roles: [{ user_id: "user-1", role: "admin" }],
      });
      expect((await store.get("user", "user-1"))?.user_role).toBe("proxy_admin");
      expect((await store.get("team", "team-1"))?.members_with_roles).toEqual([
        { user_id: "user-1", role: "admin" },
      ]);
      const users = await store.list("user", { page: 1, page_size: 1 });
      expect(users.total).toBe(1);
      expect(await store.delete("team", ["team-1"])).toEqual(["team-1"]);
    });

    it("writes spend logs once and adds their spend to key, user and team", async () => {
      await store.insert("team", { team_id: "team-2" });
      const rows = [
        row("call-1", 0.25, "2026-12-01T10:00:00.000Z"),
        row("call-2", 0.5, "2026-12-02T10:00:00.000Z"),
      ];
      await store.writeSpend({ rows });
      // The same batch again (a retry after an unknown commit outcome) adds nothing.
      await store.writeSpend({ rows });
      expect((await store.get("key", "a".repeat(64)))?.spend).toBeCloseTo(0.75, 10);
      expect((await store.get("user", "user-1"))?.spend).toBeCloseTo(0.75, 10);
      expect((await store.get("team", "team-2"))?.spend).toBeCloseTo(0.75, 10);
      const page = await store.spendLogs({ api_key: "a".repeat(64), page: 1, page_size: 1 });
      expect(page.total).toBe(2);
      expect(page.rows[0]).toMatchObject({
        request_id: "call-2",
        spend: 0.5,
        prompt_tokens: 10,
        request_tags: ["t1"],
        cache_read_input_tokens: 2,
      });
      const ranged = await store.spendLogs({
        start_date: new Date("2026-12-02T00:00:00Z"),
        page: 1,
        page_size: 10,
      });
      expect(ranged.rows.map((item) => item.request_id)).toEqual(["call-2"]);
      const report = await store.spendReport({
        start_date: new Date("2026-12-01T00:00:00Z"),
        end_date: new Date("2026-12-03T00:00:00Z"),
        group_by: "team",
      });
      expect(report).toEqual([
        {
          day: "2026-12-01",
          group: "team-2",
          model: "gpt-4o-mini",
          spend: 0.25,
          total_tokens: 15,
          requests: 1,
        },
        {
          day: "2026-12-02",
          group: "team-2",
          model: "gpt-4o-mini",
          spend: 0.5,
          total_tokens: 15,
          requests: 1,
        },
      ]);
      expect(await store.deleteSpendLogsBefore(new Date("2026-12-02T00:00:00Z"))).toBe(1);
    });

    it("keeps stored responses: replace, read with items, item by id with its owner, delete, expiry", async () => {
      const now = Date.now();
      const record = {
        id: "resp_contract_1",
        response: {
          id: "resp_contract_1",
          object: "response",
          output: [{ id: "msg_contract_1", type: "message", role: "assistant", content: [] }],
        },
        input: [{ type: "message", role: "user", content: "こんにちは" }],
        items: [{ type: "message", role: "user", content: "こんにちは" }],
        outputItems: [{ id: "msg_contract_1", type: "message", role: "assistant", content: [] }],
        model: "gpt-4o-mini",
        owner: "f".repeat(64),
        createdAt: now,
        expiresAt: now + 60_000,
      };
      await store.responses.set(record);
      expect(await store.responses.get("resp_contract_1")).toEqual(record);
      expect(await store.responses.item("msg_contract_1")).toEqual({
        item: record.outputItems[0],
        owner: "f".repeat(64),
      });
      // replaced: the new record wins, its items too, no owner kept from before
      const { owner: _owner, ...unowned } = record;
      await store.responses.set({ ...unowned, model: "other" });
      expect((await store.responses.get("resp_contract_1"))?.model).toBe("other");
      expect((await store.responses.get("resp_contract_1"))?.owner).toBeUndefined();
      expect(await store.responses.item("msg_contract_1")).toEqual({ item: record.outputItems[0] });
      expect(await store.responses.delete("resp_contract_1")).toBe(true);
      expect(await store.responses.delete("resp_contract_1")).toBe(false);
      expect(await store.responses.get("resp_contract_1")).toBeUndefined();
      expect(await store.responses.item("msg_contract_1")).toBeUndefined();

      await store.responses.set({ ...record, id: "resp_old", outputItems: [], expiresAt: now - 1 });
      expect(await store.responses.get("resp_old")).toBeUndefined();
      expect(await store.responses.delete("resp_old")).toBe(false);
      await store.responses.set({ ...record, id: "resp_old2", expiresAt: now - 1 });
      expect(await store.responses.item("msg_contract_1")).toBeUndefined();
      expect(await store.responses.deleteExpired()).toBe(1);
    });

    it("resets a budget whose period ended", async () => {
      await store.insert("user", {
        user_id: "user-reset",
        spend: 3,
        budget_duration: "1h",
        budget_reset_at: new Date(Date.now() - 1000).toISOString(),
      });
      await store.resetBudgets();
      const user = await store.get("user", "user-reset");
      expect(user?.spend).toBe(0);
      expect(Date.parse(user!.budget_reset_at!)).toBeGreaterThan(Date.now() + 3_500_000);
    });

    it("a spend batch starts the new budget period of a record whose period ended (the spend is the batch's)", async () => {
      const token = "b".repeat(64);
      await store.insert("key", {
        token,
        key_name: "sk-...bbbb",
        spend: 7,
        budget_duration: "2mo",
        budget_reset_at: new Date(Date.now() - 1000).toISOString(),
      });
      await store.insert("key", {
        token: "c".repeat(64),
        key_name: "sk-...cccc",
        spend: 1,
        budget_duration: "1h",
      });
      const entry = (requestId: string, key: string, spend: number) => {
        const fields = row(requestId, spend, "2026-12-03T10:00:00.000Z");
        fields[2] = key; // api_key
        fields[4] = null; // user_id
        fields[5] = null; // team_id
        return fields;
      };
      await store.writeSpend({
        rows: [entry("reset-1", token, 0.25), entry("reset-2", "c".repeat(64), 0.5)],
      });
      const reset = await store.get("key", token);
      expect(reset?.spend).toBeCloseTo(0.25, 10);
      // two months (60 days) from now, as resetBudgets sets it
      expect(Date.parse(reset!.budget_reset_at!)).toBeGreaterThan(Date.now() + 59 * 86_400_000);
      expect(Date.parse(reset!.budget_reset_at!)).toBeLessThan(Date.now() + 61 * 86_400_000);
      const running = await store.get("key", "c".repeat(64));
      expect(running?.spend).toBeCloseTo(1.5, 10);
      expect(running?.budget_reset_at).toBeNull();
    });
  });
}

function row(requestId: string, spend: number, start: string): SpendEntry {
  return toSpendEntry({
    request_id: requestId,
    call_type: "chat",
    api_key: "a".repeat(64),
    key_alias: "alias-a",
    user_id: "user-1",
    team_id: "team-2",
    end_user: "customer-9",
    model: "gpt-4o-mini",
    model_group: "gpt-4o-mini",
    model_id: "mock-1",
    custom_llm_provider: "mock",
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    cache_read_input_tokens: 2,
    cache_creation_input_tokens: 0,
    spend,
    status: "success",
    duration_ms: 12,
    start_ms: Date.parse(start),
    end_ms: Date.parse(start),
    session_id: null,
    request_tags: ["t1"],
    metadata: {},
  });
}
