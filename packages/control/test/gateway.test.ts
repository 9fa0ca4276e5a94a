/**
 * End to end over HTTP: a gateway whose config names the control plane's database (so core loads
 * @llmux/control by specifier), the built-in mock provider (priced through model_info), the management
 * API with the master key, and calls with virtual keys. Run on PGlite in memory and on the real
 * PostgreSQL server (a database of its own, dropped after).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, MASTER_KEY, startGateway, testConfig } from "./gateway-harness";
import { createTestDatabase } from "./postgres";

function suite(
  name: string,
  settings: () => Promise<{ general: Record<string, unknown>; cleanup(): Promise<void> }>,
) {
  describe(`control plane over HTTP (${name})`, () => {
    let harness: Harness;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      const setup = await settings();
      cleanup = setup.cleanup;
      harness = await startGateway({ config: testConfig({ ...setup.general, proxy_batch_write_at: 0.05 }) });
    });
    afterAll(async () => {
      await harness?.close();
      await cleanup?.();
    });

    const generate = async (body: Record<string, unknown>) => {
      const response = await harness.call("POST", "/key/generate", MASTER_KEY, body);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body as { key: string; token: string; key_alias: string | null };
    };

    it("refuses the management API without the master key, and a key without its admin role", async () => {
      const missing = await harness.call("POST", "/key/generate", undefined, {});
      expect(missing.status).toBe(401);
      expect(missing.body.error.message).toMatch(/API key/);
      const wrong = await harness.call("POST", "/key/generate", "sk-not-a-key", {});
      expect(wrong.status).toBe(401);
      const { key } = await generate({ key_alias: `plain-${name}` });
      const notAdmin = await harness.call("GET", "/key/list", key);
      expect(notAdmin.status).toBe(401);
    });

    it("generates a key shown once, stored as its SHA-256, usable with the gateway; spend row cost = x-llmux-response-cost", async () => {
      const created = await generate({
        key_alias: `search-${name}`,
        user_id: "alice",
        metadata: { app: "search" },
      });
      expect(created.key).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
      expect(created.token).toBe(createHash("sha256").update(created.key).digest("hex"));
      const info = await harness.call("GET", `/key/info?key=${created.key}`, MASTER_KEY);
      expect(info.status).toBe(200);
      expect(JSON.stringify(info.body.info)).not.toContain(created.key);
      expect(info.body.info).toMatchObject({
        key_alias: `search-${name}`,
        user_id: "alice",
        spend: 0,
        metadata: { app: "search" },
      });

      const call = await harness.chat(created.key, "gpt-4o-mini", { user: "customer-7" });
      expect(call.status, JSON.stringify(call.body)).toBe(200);
      const cost = Number(call.headers.get("x-llmux-response-cost"));
      expect(cost).toBeGreaterThan(0);
      await harness.gateway.flush();
      const logs = await harness.call("GET", `/spend/logs?api_key=${created.key}`, MASTER_KEY);
      expect(logs.status).toBe(200);
      expect(logs.body).toHaveLength(1);
      expect(logs.body[0]).toMatchObject({
        request_id: call.headers.get("x-llmux-call-id"),
        api_key: created.token,
        key_alias: `search-${name}`,
        user: "alice",
        end_user: "customer-7",
        model_group: "gpt-4o-mini",
        model_id: "mock-mini",
        status: "success",
        spend: cost,
      });
      expect(logs.body[0].total_tokens).toBe(call.body.usage.total_tokens);
      const after = await harness.call("GET", `/key/info?key=${created.key}`, MASTER_KEY);
      expect(after.body.info.spend).toBeCloseTo(cost, 12);
    });

    it("a /v1/completions call with three prompts: three spend rows, each naming the key, all counted in its spend", async () => {
      const created = await generate({ key_alias: `prompts-${name}` });
      // sent: one legacy completion with three prompts (the gateway makes one chat call per prompt);
      // back: 200 with a choice per prompt, and a spend row per prompt attributed to the key
      const call = await harness.call("POST", "/v1/completions", created.key, {
        model: "gpt-4o-mini",
        prompt: ["one", "two", "three"],
      });
      expect(call.status, JSON.stringify(call.body)).toBe(200);
      expect(call.body.choices).toHaveLength(3);
      await harness.gateway.flush();
      const logs = await harness.call("GET", `/spend/logs?api_key=${created.key}`, MASTER_KEY);
      expect(logs.body).toHaveLength(3);
      for (const row of logs.body)
        expect(row).toMatchObject({ api_key: created.token, key_alias: `prompts-${name}` });
      const total = logs.body.reduce((sum: number, row: { spend: number }) => sum + row.spend, 0);
      expect(total).toBeGreaterThan(0);
      const info = await harness.call("GET", `/key/info?key=${created.key}`, MASTER_KEY);
      expect(info.body.info.spend).toBeCloseTo(total, 12);
    });

    it("answers 401 for unknown, blocked and expired keys and for a model outside the key's list (LiteLLM's key_model_access_denied)", async () => {
      const unknown = await harness.chat("sk-unknown-key-that-was-never-issued");
      expect(unknown.status).toBe(401);
      const { key } = await generate({ models: ["gpt-4o-mini"] });
      const denied = await harness.chat(key, "claude-sonnet");
      expect(denied.status).toBe(401);
      expect(denied.body.error.type).toBe("key_model_access_denied");
      expect(denied.body.error.param).toBe("model");
      expect(denied.body.error.message).toBe(
        'API Key not allowed to access model. This key can only access models=["gpt-4o-mini"]. Tried to access claude-sonnet',
      );
      expect((await harness.chat(key, "gpt-4o-mini")).status).toBe(200);
      expect((await harness.call("POST", "/key/block", MASTER_KEY, { key })).body.blocked).toBe(true);
      const blocked = await harness.chat(key);
      expect(blocked.status).toBe(401);
      expect(blocked.body.error.message).toContain("blocked");
      await harness.call("POST", "/key/unblock", MASTER_KEY, { key });
      expect((await harness.chat(key)).status).toBe(200);
      const expired = await generate({ expires: "2020-01-01T00:00:00Z" });
      const old = await harness.chat(expired.key);
      expect(old.status).toBe(401);
      expect(old.body.error.message).toContain("Expired Key");
    });

    it("applies a key's, its team's and its user's changes to the key's next call (the access made per key record is not reused)", async () => {
      const { key } = await generate({ models: ["gpt-4o-mini", "claude-sonnet"] });
      // Called with both models allowed: the key's access is made and kept.
      expect((await harness.chat(key, "claude-sonnet")).status).toBe(200);
      await harness.call("POST", "/key/update", MASTER_KEY, { key, models: ["gpt-4o-mini"] });
      const narrowed = await harness.chat(key, "claude-sonnet");
      expect(narrowed.status, "claude-sonnet after /key/update models=[gpt-4o-mini]").toBe(401);
      expect(narrowed.body.error.type).toBe("key_model_access_denied");
      const team = await harness.call("POST", "/team/new", MASTER_KEY, {
        models: ["gpt-4o-mini", "claude-sonnet"],
      });
      const user = await harness.call("POST", "/user/new", MASTER_KEY, { user_role: "internal_user" });
      const member = await generate({ team_id: team.body.team_id, user_id: user.body.user_id });
      expect((await harness.chat(member.key, "claude-sonnet")).status).toBe(200);
      // The management API is refused while the key's user is not an admin, admitted once it is.
      expect((await harness.call("GET", "/key/list", member.key)).status).toBe(401);
      await harness.call("POST", "/team/update", MASTER_KEY, {
        team_id: team.body.team_id,
        models: ["gpt-4o-mini"],
      });
      // key_model_access_denied: refused by the access's allowed models (the key's narrowed by its
      // team's), before the per-call team check (team_model_access_denied) is reached
      const afterTeam = await harness.chat(member.key, "claude-sonnet");
      expect(afterTeam.status, "after /team/update").toBe(401);
      expect(afterTeam.body.error.type).toBe("key_model_access_denied");
      const listed = await harness.call("GET", "/models", member.key);
      expect(listed.body.data.map((model: { id: string }) => model.id)).toEqual(["gpt-4o-mini"]);
      await harness.call("POST", "/user/update", MASTER_KEY, {
        user_id: user.body.user_id,
        user_role: "proxy_admin",
      });
      expect((await harness.call("GET", "/key/list", member.key)).status, "after user_role=proxy_admin").toBe(
        200,
      );
    });

    it("honours wildcard entries in a key's models (gpt-* allows gpt-4o-mini, not claude-sonnet; /v1/models lists what matches)", async () => {
      const { key } = await generate({ models: ["gpt-*"] });
      expect((await harness.chat(key, "gpt-4o-mini")).status).toBe(200);
      const denied = await harness.chat(key, "claude-sonnet");
      expect(denied.status).toBe(401);
      expect(denied.body.error.type).toBe("key_model_access_denied");
      const listed = await harness.call("GET", "/v1/models", key);
      const ids = listed.body.data.map((model: { id: string }) => model.id);
      expect(ids).toContain("gpt-4o-mini");
      expect(ids.every((id: string) => id.startsWith("gpt-"))).toBe(true);
      const everything = await generate({ models: ["all-proxy-models"] });
      expect((await harness.chat(everything.key, "claude-sonnet")).status).toBe(200);
    });

    it("stops calls right after the call that crosses the key's budget (400 budget_exceeded)", async () => {
      const probe = await generate({});
      const first = await harness.chat(probe.key);
      const cost = Number(first.headers.get("x-llmux-response-cost"));
      const { key } = await generate({ max_budget: cost * 1.5 });
      expect((await harness.chat(key)).status).toBe(200); // spend c < 1.5c
      expect((await harness.chat(key)).status).toBe(200); // spend c < 1.5c: allowed, crosses to 2c
      const refused = await harness.chat(key);
      expect(refused.status).toBe(400);
      expect(refused.body.error.type).toBe("budget_exceeded");
      expect(refused.body.error.message).toMatch(
        /Budget has been exceeded! Current cost: [\d.]+, Max budget: [\d.]+/,
      );
    });

    it("concurrent calls overspend at most by the documented bound (each call holds the average cost)", async () => {
      const { key } = await generate({});
      const first = await harness.chat(key, "slow");
      const cost = Number(first.headers.get("x-llmux-response-cost"));
      const budget = cost * 2.5;
      await harness.call("POST", "/key/update", MASTER_KEY, { key, max_budget: budget });
      // 10 calls at once, each taking 2 s upstream: all are in flight together.
      const results = await Promise.all(Array.from({ length: 10 }, () => harness.chat(key, "slow")));
      const statuses = results.map((result) => result.status).sort();
      // spend c + 2 held (c each) reaches 2.5c: exactly two more are admitted, the rest get 400.
      expect(statuses).toEqual([200, 200, 400, 400, 400, 400, 400, 400, 400, 400]);
      const info = await harness.call("GET", `/key/info?key=${key}`, MASTER_KEY);
      // Documented bound: overspend ≤ P × (c_max − held) + c_max = 10 × 0 + c (identical calls).
      expect(info.body.info.spend).toBeLessThanOrEqual(budget + cost + 1e-12);
      expect(info.body.info.spend).toBeCloseTo(cost * 3, 12);
    });

    it("applies the team's budget and model list to its keys", async () => {
      const team = await harness.call("POST", "/team/new", MASTER_KEY, {
        team_alias: "search",
        models: ["gpt-4o-mini"],
        max_budget: 0.000001,
      });
      expect(team.status).toBe(200);
      const { key } = await generate({ team_id: team.body.team_id });
      expect((await harness.chat(key, "claude-sonnet")).status).toBe(401);
      expect((await harness.chat(key)).status).toBe(200);
      const refused = await harness.chat(key);
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain(`Team=${team.body.team_id}`);
      const info = await harness.call("GET", `/team/info?team_id=${team.body.team_id}`, MASTER_KEY);
      expect(info.body.team_info.spend).toBeGreaterThan(0.000001);
      expect(info.body.keys).toHaveLength(1);
    });

    it("answers 429 with retry-after past the key's rpm limit", async () => {
      const { key } = await generate({ rpm_limit: 2 });
      expect((await harness.chat(key)).status).toBe(200);
      expect((await harness.chat(key)).status).toBe(200);
      const limited = await harness.chat(key);
      expect(limited.status).toBe(429);
      expect(limited.body.error.type).toBe("rate_limit_error");
      expect(limited.body.error.message).toContain("Limit type: requests");
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    });

    it("answers 429 past max_parallel_requests while a slow call runs", async () => {
      const { key } = await generate({ max_parallel_requests: 1 });
      const slow = harness.chat(key, "slow");
      // The slow call holds the slot for 2 s once started; the second is sent after its start event.
      await harness.waitForStart("slow");
      const second = await harness.chat(key, "gpt-4o-mini");
      expect((await slow).status).toBe(200);
      expect(second.status).toBe(429);
      expect(second.body.error.message).toContain("Max parallel request limit reached");
      expect((await harness.chat(key)).status).toBe(200);
    });

    it("manages users and teams: life cycle, 400 naming the field, 404 for unknown ids", async () => {
      const bad = await harness.call("POST", "/user/new", MASTER_KEY, { user_id: "bob", max_budget: "ten" });
      expect(bad.status).toBe(400);
      expect(bad.body.error.param).toBe("max_budget");
      const badDuration = await harness.call("POST", "/key/generate", MASTER_KEY, {
        budget_duration: "soon",
      });
      expect(badDuration.status).toBe(400);
      expect(badDuration.body.error.param).toBe("budget_duration");
      const user = await harness.call("POST", "/user/new", MASTER_KEY, {
        user_id: "bob",
        max_budget: 10,
        user_email: "bob@example.com",
      });
      expect(user.status).toBe(200);
      expect(user.body.key).toMatch(/^sk-/);
      const update = await harness.call("POST", "/user/update", MASTER_KEY, { user_id: "bob", rpm_limit: 5 });
      expect(update.body.rpm_limit).toBe(5);
      const team = await harness.call("POST", "/team/new", MASTER_KEY, { team_id: "team-bob" });
      const added = await harness.call("POST", "/team/member_add", MASTER_KEY, {
        team_id: "team-bob",
        member: { user_id: "bob", role: "admin" },
      });
      expect(added.body.members_with_roles).toEqual([{ user_id: "bob", role: "admin" }]);
      const info = await harness.call("GET", "/user/info?user_id=bob", MASTER_KEY);
      expect(info.body.user_info.teams).toEqual([team.body.team_id]);
      expect(info.body.keys).toHaveLength(1);
      const removed = await harness.call("POST", "/team/member_delete", MASTER_KEY, {
        team_id: "team-bob",
        user_id: "bob",
      });
      expect(removed.body.members_with_roles).toEqual([]);
      expect((await harness.call("GET", "/user/info?user_id=nobody", MASTER_KEY)).status).toBe(404);
      expect((await harness.call("GET", "/team/info?team_id=nothing", MASTER_KEY)).status).toBe(404);
      expect(
        (await harness.call("POST", "/key/update", MASTER_KEY, { key: "sk-nope", rpm_limit: 1 })).status,
      ).toBe(404);
      expect(
        (await harness.call("POST", "/user/delete", MASTER_KEY, { user_ids: ["bob"] })).body.deleted_users,
      ).toEqual(["bob"]);
      expect(
        (await harness.call("POST", "/team/delete", MASTER_KEY, { team_ids: ["team-bob"] })).body
          .deleted_teams,
      ).toEqual(["team-bob"]);
      const list = await harness.call("GET", "/user/list", MASTER_KEY);
      expect(list.body.users.some((item: { user_id: string }) => item.user_id === "bob")).toBe(false);
    });

    it("regenerates a key (the old one stops working) and deletes keys", async () => {
      const { key, token } = await generate({ key_alias: `rotate-${name}` });
      const regenerated = await harness.call("POST", "/key/regenerate", MASTER_KEY, { key });
      expect(regenerated.status).toBe(200);
      expect(regenerated.body.key).not.toBe(key);
      expect(regenerated.body.key_alias).toBe(`rotate-${name}`);
      expect((await harness.chat(key)).status).toBe(401);
      expect((await harness.chat(regenerated.body.key)).status).toBe(200);
      const list = await harness.call("GET", `/key/list?key_alias=rotate-${name}`, MASTER_KEY);
      expect(list.body.keys).toEqual([regenerated.body.token]);
      expect(list.body.keys).not.toContain(token);
      const deleted = await harness.call("POST", "/key/delete", MASTER_KEY, { keys: [regenerated.body.key] });
      expect(deleted.body.deleted_keys).toEqual([regenerated.body.key]);
      expect((await harness.chat(regenerated.body.key)).status).toBe(401);
    });

    it("reports spend per day by key and by team, with paging on /spend/logs", async () => {
      await harness.gateway.flush();
      const page = await harness.call("GET", "/spend/logs?page=1&page_size=2", MASTER_KEY);
      expect(page.body.data).toHaveLength(2);
      expect(page.body.total).toBeGreaterThan(2);
      const byKey = await harness.call("GET", "/global/spend/report?group_by=api_key", MASTER_KEY);
      expect(byKey.status).toBe(200);
      expect(byKey.body[0].group_by_day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(byKey.body[0].api_keys[0]).toHaveProperty("total_cost");
      const byTeam = await harness.call("GET", "/global/spend/report", MASTER_KEY);
      expect(byTeam.body[0].teams.length).toBeGreaterThan(0);
    });
  });
}

suite("PGlite", async () => ({ general: { key_store: "memory://" }, cleanup: async () => {} }));
suite("PostgreSQL", async () => {
  const database = await createTestDatabase();
  return { general: { database_url: database.url }, cleanup: () => database.drop() };
});
