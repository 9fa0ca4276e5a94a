import type { PluginRoute } from "@llmux/callbacks";
import { durationMs } from "../../duration";
import { abbreviateKey, generateKey, hashKey, tokenOf } from "../../keys/key-material";
import type { KeyRecord } from "../../store/records";
import type { ControlContext } from "../control-context";
import {
  budgetFields,
  optionalBoolean,
  optionalDuration,
  optionalString,
  optionalStringList,
  pageOf,
  requiredString,
} from "../fields";
import { adminRoute, badRequest, notFound } from "../route-kit";

/**
 * Virtual keys, with LiteLLM's paths, fields and answers. A key is shown once (in the answer of
 * generate/regenerate); the database keeps only its SHA-256.
 *
 * @example
 * curl -s localhost:4000/key/generate -H "Authorization: Bearer $MASTER_KEY" \
 *   -H 'content-type: application/json' \
 *   -d '{"key_alias":"search-app","models":["gpt-4o-mini"],"max_budget":5,"budget_duration":"30d","rpm_limit":60}'
 * # → {"key":"sk-…","token":"<sha256>","key_alias":"search-app","max_budget":5,…}
 */
export function keyRoutes(control: ControlContext): PluginRoute[] {
  const { kit, store, cache } = control;

  const fromBody = (body: Record<string, unknown>) => {
    const fields: Record<string, unknown> = {
      ...budgetFields(body, control.now()),
      key_alias: optionalString(body, "key_alias"),
      user_id: optionalString(body, "user_id"),
      team_id: optionalString(body, "team_id"),
      blocked: optionalBoolean(body, "blocked"),
    };
    const duration = optionalDuration(body, "duration");
    const expires = optionalString(body, "expires");
    if (duration) fields.expires = new Date(control.now() + durationMs(duration)!).toISOString();
    else if (expires !== undefined) {
      if (expires !== null && Number.isNaN(Date.parse(expires)))
        throw badRequest("'expires' must be an ISO date", "expires");
      fields.expires = expires === null ? null : new Date(expires).toISOString();
    } else if (body.duration === null) fields.expires = null;
    return fields;
  };

  const findKey = async (body: Record<string, unknown>): Promise<KeyRecord> => {
    const key = requiredString(body, "key");
    const record = await store.get("key", tokenOf(key));
    if (!record) throw notFound(`Key not found: ${describe(key)}`, "key");
    return record;
  };

  const references = async (fields: Record<string, unknown>) => {
    if (typeof fields.team_id === "string" && !(await store.get("team", fields.team_id))) {
      throw badRequest(`Team '${fields.team_id}' does not exist; create it with /team/new first`, "team_id");
    }
  };

  const aliasFree = async (alias: unknown, except?: string) => {
    if (typeof alias !== "string") return;
    const existing = await store.keyByAlias(alias);
    if (existing && existing.token !== except)
      throw badRequest(`Key with alias '${alias}' already exists`, "key_alias");
  };

  const generate = async (body: Record<string, unknown>, createdBy: string | null) => {
    const fields = fromBody(body);
    await references(fields);
    await aliasFree(fields.key_alias);
    const key = generateKey();
    const record = await store.insert("key", {
      ...fields,
      token: hashKey(key),
      key_name: abbreviateKey(key),
      created_by: createdBy,
    } as Partial<KeyRecord>);
    cache.set("key", record.token, record);
    return { ...present(record), key, key_name: record.key_name, token_id: record.token };
  };

  const regenerate = async (body: Record<string, unknown>) => {
    const record = await findKey(body);
    const key = generateKey();
    const replaced = await store.replaceToken(record.token, hashKey(key), abbreviateKey(key));
    if (!replaced) throw notFound("Key not found", "key");
    cache.invalidate("key", record.token);
    const patch = fromBody({ ...body, key: undefined });
    const updated = Object.values(patch).some((value) => value !== undefined)
      ? await store.update("key", replaced.token, patch as Partial<KeyRecord>)
      : replaced;
    cache.set("key", replaced.token, updated);
    return { ...present(updated!), key, key_name: replaced.key_name, token_id: replaced.token };
  };

  const setBlocked =
    (blocked: boolean) =>
    async ({ body }: { body: Record<string, unknown> }) => {
      const record = await findKey(body);
      const updated = await store.update("key", record.token, { blocked });
      cache.set("key", record.token, updated);
      return present(updated!);
    };

  return [
    adminRoute(kit, "POST", "/key/generate", ({ body }) => generate(body, "admin")),
    adminRoute(kit, "POST", "/key/update", async ({ body }) => {
      const record = await findKey(body);
      const fields = fromBody(body);
      await references(fields);
      await aliasFree(fields.key_alias, record.token);
      const updated = await store.update("key", record.token, fields as Partial<KeyRecord>);
      cache.set("key", record.token, updated);
      return present(updated!);
    }),
    adminRoute(kit, "POST", "/key/delete", async ({ body }) => {
      const keys = optionalStringList(body, "keys") ?? [];
      const aliases = optionalStringList(body, "key_aliases") ?? [];
      if (keys.length === 0 && aliases.length === 0)
        throw badRequest("'keys' or 'key_aliases' is required", "keys");
      const tokens = keys.map(tokenOf);
      for (const alias of aliases) {
        const record = await store.keyByAlias(alias);
        if (!record) throw notFound(`Key with alias '${alias}' not found`, "key_aliases");
        tokens.push(record.token);
      }
      const deleted = await store.delete("key", tokens);
      if (deleted.length < new Set(tokens).size) {
        const missing = keys.filter((key) => !deleted.includes(tokenOf(key)));
        if (missing.length > 0) throw notFound(`Key not found: ${missing.map(describe).join(", ")}`, "keys");
      }
      for (const token of deleted) cache.set("key", token, undefined);
      return { deleted_keys: [...keys, ...aliases] };
    }),
    adminRoute(kit, "POST", "/key/regenerate", ({ body }) => regenerate(body)),
    adminRoute(kit, "POST", "/key/block", setBlocked(true)),
    adminRoute(kit, "POST", "/key/unblock", setBlocked(false)),
    adminRoute(kit, "GET", "/key/info", async ({ query }) => {
      const key = query.get("key");
      if (!key) throw badRequest("'key' is required", "key");
      const record = await store.get("key", tokenOf(key));
      if (!record) throw notFound(`Key not found: ${describe(key)}`, "key");
      return { key, info: present(record, control.pendingSpend("key", record.token)) };
    }),
    adminRoute(kit, "GET", "/key/list", async ({ query }) => {
      const paging = pageOf(query, "size");
      const options: Parameters<typeof store.list>[1] = { ...paging };
      for (const name of ["user_id", "team_id", "key_alias"] as const) {
        const value = query.get(name);
        if (value) options[name] = value;
      }
      const { rows, total } = await store.list("key", options);
      const full = query.get("return_full_object") === "true";
      return {
        keys: full ? rows.map((row) => present(row)) : rows.map((row) => row.token),
        total_count: total,
        current_page: paging.page,
        total_pages: Math.ceil(total / paging.page_size),
      };
    }),
  ];
}

/** A key record as the API shows it (LiteLLM's fields), spend including what is not yet written. */
export function present(record: KeyRecord, pending = 0): Record<string, unknown> {
  return { ...record, spend: record.spend + pending };
}

/** A key or hash named in an error: never the key itself. */
function describe(keyOrHash: string): string {
  return keyOrHash.startsWith("sk-") ? abbreviateKey(keyOrHash) : keyOrHash;
}
