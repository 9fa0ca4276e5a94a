import type { SqlClient, SqlQuery } from "../db/sql-client";
import { durationMs } from "../duration";
import { SqlResponseStore } from "../responses/sql-response-store";
import { spendGroups } from "../spend/spend-groups";
import type { ControlStore, EntityPatch, RecordOf } from "./control-store";
import type { EntityKind, KeyRecord, SpendBatch, SpendLogRow, SpendReportRow } from "./records";

interface TableInfo {
  table: string;
  id: string;
  columns: readonly string[];
  json: ReadonlySet<string>;
}

const BUDGET_COLUMNS = [
  "models",
  "max_budget",
  "soft_budget",
  "spend",
  "budget_duration",
  "budget_reset_at",
  "rpm_limit",
  "tpm_limit",
  "max_parallel_requests",
  "metadata",
] as const;

const TABLES: Record<EntityKind, TableInfo> = {
  key: {
    table: "llmux_keys",
    id: "token",
    columns: [
      "token",
      "key_name",
      "key_alias",
      "user_id",
      "team_id",
      "expires",
      "blocked",
      "created_by",
      ...BUDGET_COLUMNS,
    ],
    json: new Set(["models", "metadata"]),
  },
  user: {
    table: "llmux_users",
    id: "user_id",
    columns: ["user_id", "user_alias", "user_email", "user_role", "teams", ...BUDGET_COLUMNS],
    json: new Set(["models", "metadata", "teams"]),
  },
  team: {
    table: "llmux_teams",
    id: "team_id",
    columns: ["team_id", "team_alias", "members_with_roles", "blocked", ...BUDGET_COLUMNS],
    json: new Set(["models", "metadata", "members_with_roles"]),
  },
};

/** A spend batch: the rows as one JSON array of groups by subject (see migration 0006_spend_groups). */
const WRITE_SPEND = "SELECT llmux_write_spend_groups($1::jsonb) AS written";

/** The control store on SQL that PGlite and PostgreSQL both run. */
export class SqlControlStore implements ControlStore {
  readonly kind: string;
  readonly responses: SqlResponseStore;

  constructor(private readonly client: SqlClient) {
    this.kind = client.kind;
    this.responses = new SqlResponseStore(client);
  }

  async insert<K extends EntityKind>(kind: K, values: EntityPatch<K>): Promise<RecordOf<K>> {
    const info = TABLES[kind];
    const entries = Object.entries(values).filter(
      ([column, value]) => value !== undefined && info.columns.includes(column),
    );
    const names = entries.map(([column]) => column);
    const params = entries.map(([column, value]) => encode(info, column, value));
    const placeholders = params.map((_, index) => `$${index + 1}`);
    const rows = await this.client.query(
      `INSERT INTO ${info.table} (${names.join(", ")}) VALUES (${placeholders.join(", ")}) RETURNING *`,
      params,
    );
    return decode(rows[0]!) as RecordOf<K>;
  }

  async get<K extends EntityKind>(kind: K, id: string): Promise<RecordOf<K> | undefined> {
    const info = TABLES[kind];
    const rows = await this.client.query(`SELECT * FROM ${info.table} WHERE ${info.id} = $1`, [id]);
    return rows[0] ? (decode(rows[0]) as RecordOf<K>) : undefined;
  }

  async update<K extends EntityKind>(
    kind: K,
    id: string,
    patch: EntityPatch<K>,
  ): Promise<RecordOf<K> | undefined> {
    const info = TABLES[kind];
    const entries = Object.entries(patch).filter(
      ([column, value]) => value !== undefined && column !== info.id && info.columns.includes(column),
    );
    if (entries.length === 0) return this.get(kind, id);
    const sets = entries.map(([column], index) => `${column} = $${index + 2}`);
    const rows = await this.client.query(
      `UPDATE ${info.table} SET ${sets.join(", ")}, updated_at = now() WHERE ${info.id} = $1 RETURNING *`,
      [id, ...entries.map(([column, value]) => encode(info, column, value))],
    );
    return rows[0] ? (decode(rows[0]) as RecordOf<K>) : undefined;
  }

  async delete(kind: EntityKind, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const info = TABLES[kind];
    const rows = await this.client.query<Record<string, string>>(
      `DELETE FROM ${info.table} WHERE ${info.id} = ANY($1::text[]) RETURNING ${info.id}`,
      [[...ids]],
    );
    return rows.map((row) => row[info.id]!);
  }

  async list<K extends EntityKind>(
    kind: K,
    options: { user_id?: string; team_id?: string; key_alias?: string; page: number; page_size: number },
  ): Promise<{ rows: RecordOf<K>[]; total: number }> {
    const info = TABLES[kind];
    const where: string[] = [];
    const params: unknown[] = [];
    const filter = (column: string, value: string | undefined) => {
      if (value === undefined || !info.columns.includes(column)) return;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    };
    filter("user_id", options.user_id);
    filter("team_id", options.team_id);
    filter("key_alias", options.key_alias);
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const [count] = await this.client.query<{ total: number }>(
      `SELECT count(*)::int AS total FROM ${info.table} ${clause}`,
      params,
    );
    const rows = await this.client.query(
      `SELECT * FROM ${info.table} ${clause} ORDER BY created_at, ${info.id} LIMIT ${options.page_size} OFFSET ${(options.page - 1) * options.page_size}`,
      params,
    );
    return { rows: rows.map((row) => decode<RecordOf<K>>(row)), total: count?.total ?? 0 };
  }

  async keyByAlias(alias: string): Promise<KeyRecord | undefined> {
    const rows = await this.client.query("SELECT * FROM llmux_keys WHERE key_alias = $1", [alias]);
    return rows[0] ? decode<KeyRecord>(rows[0]) : undefined;
  }

  async replaceToken(oldToken: string, newToken: string, keyName: string): Promise<KeyRecord | undefined> {
    const rows = await this.client.query(
      "UPDATE llmux_keys SET token = $2, key_name = $3, updated_at = now() WHERE token = $1 RETURNING *",
      [oldToken, newToken, keyName],
    );
    return rows[0] ? decode<KeyRecord>(rows[0]) : undefined;
  }

  async writeSpend(batch: SpendBatch): Promise<void> {
    if (batch.rows.length === 0) return;
    // The whole batch is one JSON text in one parameter: one native JSON.stringify of flat arrays
    // instead of binding 24 parameters per row, the key, alias, user and team once per run of rows.
    // llmux_write_spend_groups (migration 0006) is one statement, atomic by itself (no BEGIN/COMMIT
    // round trips, the budget resets of the records it adds to are part of it), planned once per
    // session instead of once per batch (with PGlite that work runs in the gateway's own thread).
    await this.client.query(WRITE_SPEND, [JSON.stringify(spendGroups(batch.rows))]);
  }

  async resetBudgets(): Promise<void> {
    await resetBudgets(this.client);
  }

  async spendLogs(filter: {
    api_key?: string;
    user_id?: string;
    team_id?: string;
    request_id?: string;
    start_date?: Date;
    end_date?: Date;
    page: number;
    page_size: number;
  }): Promise<{ rows: SpendLogRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace("?", `$${params.length}`));
    };
    if (filter.api_key !== undefined) add("api_key = ?", filter.api_key);
    if (filter.user_id !== undefined) add("user_id = ?", filter.user_id);
    if (filter.team_id !== undefined) add("team_id = ?", filter.team_id);
    if (filter.request_id !== undefined) add("request_id = ?", filter.request_id);
    if (filter.start_date) add("start_time >= ?", filter.start_date.toISOString());
    if (filter.end_date) add("start_time < ?", filter.end_date.toISOString());
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const [count] = await this.client.query<{ total: number }>(
      `SELECT count(*)::int AS total FROM llmux_spend_logs ${clause}`,
      params,
    );
    const rows = await this.client.query(
      `SELECT * FROM llmux_spend_logs ${clause} ORDER BY start_time DESC, request_id LIMIT ${filter.page_size} OFFSET ${(filter.page - 1) * filter.page_size}`,
      params,
    );
    return { rows: rows.map(spendRow), total: count?.total ?? 0 };
  }

  async spendReport(options: {
    start_date: Date;
    end_date: Date;
    group_by: "api_key" | "team" | "user" | "customer" | "model";
  }): Promise<SpendReportRow[]> {
    const group = {
      api_key: "api_key",
      team: "team_id",
      user: "user_id",
      customer: "end_user",
      model: "model_group",
    }[options.group_by];
    const rows = await this.client.query<{
      day: string;
      group_value: string | null;
      model: string;
      spend: number;
      total_tokens: number;
      requests: number;
    }>(
      `SELECT to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${group} AS group_value,
              model_group AS model, sum(spend)::float8 AS spend, sum(total_tokens)::int8 AS total_tokens,
              count(*)::int AS requests
         FROM llmux_spend_logs WHERE start_time >= $1 AND start_time < $2
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [options.start_date.toISOString(), options.end_date.toISOString()],
    );
    return rows.map((row) => ({
      day: row.day,
      group: row.group_value,
      model: row.model,
      spend: Number(row.spend),
      total_tokens: Number(row.total_tokens),
      requests: Number(row.requests),
    }));
  }

  async deleteSpendLogsBefore(before: Date): Promise<number> {
    const rows = await this.client.query(
      "DELETE FROM llmux_spend_logs WHERE start_time < $1 RETURNING request_id",
      [before.toISOString()],
    );
    return rows.length;
  }

  async maintain(): Promise<void> {
    await this.client.maintain?.();
  }

  async ping(): Promise<void> {
    await this.client.query("SELECT 1");
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Sets spend to 0 where the budget period ended, and the next reset one period later than now. A
 * duration this store cannot parse is left alone (the API refuses them on the way in).
 */
async function resetBudgets(client: SqlQuery): Promise<void> {
  for (const info of Object.values(TABLES)) {
    const due = await client.query<{ id: string; budget_duration: string }>(
      `SELECT ${info.id} AS id, budget_duration FROM ${info.table}
        WHERE budget_reset_at IS NOT NULL AND budget_reset_at <= now() FOR UPDATE`,
    );
    for (const row of due) {
      const period = durationMs(row.budget_duration);
      if (period === undefined) continue;
      await client.query(
        `UPDATE ${info.table} SET spend = 0, budget_reset_at = $2 WHERE ${info.id} = $1 AND budget_reset_at <= now()`,
        [row.id, new Date(Date.now() + period).toISOString()],
      );
    }
  }
}

function encode(info: TableInfo, column: string, value: unknown): unknown {
  if (info.json.has(column)) return JSON.stringify(value ?? null);
  return value;
}

function decode<T = Record<string, unknown>>(row: Record<string, unknown>): T {
  const result: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    result[column] = value instanceof Date ? value.toISOString() : value;
  }
  for (const column of ["spend", "max_budget", "soft_budget"]) {
    if (typeof result[column] === "string") result[column] = Number(result[column]);
  }
  return result as T;
}

function spendRow(raw: Record<string, unknown>): SpendLogRow {
  const row = decode<Record<string, unknown>>(raw);
  return {
    request_id: String(row.request_id),
    call_type: String(row.call_type),
    api_key: (row.api_key as string | null) ?? null,
    key_alias: (row.key_alias as string | null) ?? null,
    user: (row.user_id as string | null) ?? null,
    team_id: (row.team_id as string | null) ?? null,
    end_user: (row.end_user as string | null) ?? null,
    model: String(row.model),
    model_group: String(row.model_group),
    model_id: (row.model_id as string | null) ?? null,
    custom_llm_provider: (row.custom_llm_provider as string | null) ?? null,
    prompt_tokens: Number(row.prompt_tokens),
    completion_tokens: Number(row.completion_tokens),
    total_tokens: Number(row.total_tokens),
    cache_read_input_tokens: Number(row.cache_read_input_tokens),
    cache_creation_input_tokens: Number(row.cache_creation_input_tokens),
    spend: Number(row.spend),
    status: row.status as "success" | "failure",
    duration_ms: Number(row.duration_ms),
    startTime: String(row.start_time),
    endTime: String(row.end_time),
    session_id: (row.session_id as string | null) ?? null,
    request_tags: (row.request_tags as string[]) ?? [],
    metadata: (row.metadata as Record<string, unknown>) ?? {},
  };
}
