import { randomUUID } from "node:crypto";
import type { PluginRoute } from "@llmux/callbacks";
import { abbreviateKey, generateKey, hashKey } from "../../keys/key-material";
import type { KeyRecord, UserRecord } from "../../store/records";
import type { ControlContext } from "../control-context";
import {
  budgetFields,
  optionalBoolean,
  optionalString,
  optionalStringList,
  pageOf,
  requiredString,
} from "../fields";
import { adminRoute, badRequest, notFound } from "../route-kit";

const ROLES = new Set(["proxy_admin", "proxy_admin_viewer", "internal_user", "internal_user_viewer"]);

/**
 * Users with their own budgets and limits. A host app gives its own user ids (the ones its
 * resolveContext returns) a budget here, with no key involved (`"auto_create_key": false`).
 *
 * @example
 * curl -s localhost:4000/user/new -H "Authorization: Bearer $MASTER_KEY" -H 'content-type: application/json' \
 *   -d '{"user_id":"alice@example.com","max_budget":10,"budget_duration":"30d","auto_create_key":false}'
 */
export function userRoutes(control: ControlContext): PluginRoute[] {
  const { kit, store, cache } = control;

  const fromBody = (body: Record<string, unknown>) => {
    const role = optionalString(body, "user_role");
    if (role && !ROLES.has(role))
      throw badRequest(`'user_role' must be one of ${[...ROLES].join(", ")}`, "user_role");
    return {
      ...budgetFields(body, control.now()),
      user_alias: optionalString(body, "user_alias"),
      user_email: optionalString(body, "user_email"),
      user_role: role ?? undefined,
      teams: optionalStringList(body, "teams"),
    };
  };

  const present = (record: UserRecord) => ({
    ...record,
    spend: record.spend + control.pendingSpend("user", record.user_id),
  });

  return [
    adminRoute(kit, "POST", "/user/new", async ({ body }) => {
      const userId = optionalString(body, "user_id") ?? randomUUID();
      const fields = fromBody(body);
      const autoCreateKey = optionalBoolean(body, "auto_create_key") ?? true;
      if (await store.get("user", userId)) throw badRequest(`User '${userId}' already exists`, "user_id");
      const record = await store.insert("user", { ...fields, user_id: userId } as Partial<UserRecord>);
      cache.set("user", userId, record);
      const answer: Record<string, unknown> = { ...record };
      if (autoCreateKey) {
        const key = generateKey();
        const keyRecord = await store.insert("key", {
          token: hashKey(key),
          key_name: abbreviateKey(key),
          user_id: userId,
          models: record.models,
          created_by: "admin",
        } as Partial<KeyRecord>);
        cache.set("key", keyRecord.token, keyRecord);
        Object.assign(answer, { key, key_name: keyRecord.key_name, token: keyRecord.token, expires: null });
      }
      return answer;
    }),
    adminRoute(kit, "POST", "/user/update", async ({ body }) => {
      const userId = requiredString(body, "user_id");
      const updated = await store.update("user", userId, fromBody(body) as Partial<UserRecord>);
      if (!updated) throw notFound(`User '${userId}' not found`, "user_id");
      cache.set("user", userId, updated);
      return present(updated);
    }),
    adminRoute(kit, "POST", "/user/delete", async ({ body }) => {
      const ids = optionalStringList(body, "user_ids");
      if (!ids || ids.length === 0) throw badRequest("'user_ids' is required", "user_ids");
      const deleted = await store.delete("user", ids);
      const missing = ids.filter((id) => !deleted.includes(id));
      if (missing.length > 0) throw notFound(`User not found: ${missing.join(", ")}`, "user_ids");
      for (const id of deleted) cache.set("user", id, undefined);
      return { deleted_users: deleted };
    }),
    adminRoute(kit, "GET", "/user/info", async ({ query }) => {
      const userId = query.get("user_id");
      if (!userId) throw badRequest("'user_id' is required", "user_id");
      const record = await store.get("user", userId);
      if (!record) throw notFound(`User '${userId}' not found`, "user_id");
      // The pending spend is added in the turn the record arrives: a batch committed while the keys
      // and teams are read leaves the pending counts, and the record read before it does not hold it.
      const userInfo = present(record);
      const keys = await store.list("key", { user_id: userId, page: 1, page_size: 1000 });
      const teams = (
        await Promise.all(
          record.teams.map(async (id) => {
            const team = await store.get("team", id);
            return team && { ...team, spend: team.spend + control.pendingSpend("team", team.team_id) };
          }),
        )
      ).filter((team) => team !== undefined);
      return {
        user_id: userId,
        user_info: userInfo,
        keys: keys.rows.map((key) => ({ ...key, spend: key.spend + control.pendingSpend("key", key.token) })),
        teams,
      };
    }),
    adminRoute(kit, "GET", "/user/list", async ({ query }) => {
      const paging = pageOf(query);
      const { rows, total } = await store.list("user", paging);
      return {
        users: rows.map(present),
        total,
        page: paging.page,
        page_size: paging.page_size,
        total_pages: Math.ceil(total / paging.page_size),
      };
    }),
  ];
}
