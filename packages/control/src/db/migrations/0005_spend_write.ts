import type { Migration } from "../migration";

/**
 * The spend log columns in a SpendEntry's order, with the SQL type each is read as (frozen here: this
 * migration's text must never change; `spend-entry.test.ts` checks it still matches SPEND_COLUMNS).
 */
export const SPEND_WRITE_COLUMNS = [
  ["request_id", "text"],
  ["call_type", "text"],
  ["api_key", "text"],
  ["key_alias", "text"],
  ["user_id", "text"],
  ["team_id", "text"],
  ["end_user", "text"],
  ["model", "text"],
  ["model_group", "text"],
  ["model_id", "text"],
  ["custom_llm_provider", "text"],
  ["prompt_tokens", "integer"],
  ["completion_tokens", "integer"],
  ["total_tokens", "integer"],
  ["cache_read_input_tokens", "integer"],
  ["cache_creation_input_tokens", "integer"],
  ["spend", "double precision"],
  ["status", "text"],
  ["duration_ms", "integer"],
  ["start_time", "epoch-ms"],
  ["end_time", "epoch-ms"],
  ["session_id", "text"],
  ["request_tags", "jsonb"],
  ["metadata", "jsonb"],
] as const;

/**
 * A SpendEntry field read from the batch's JSON row (`entry`, a jsonb array) as its column's type
 * (also migration 0006's: frozen with this text).
 */
export function entryField(
  index: number,
  type: (typeof SPEND_WRITE_COLUMNS)[number][1],
  entry = "entry",
): string {
  if (type === "text") return `${entry}->>${index}`;
  if (type === "jsonb") return `${entry}->${index}`;
  if (type === "epoch-ms") return `to_timestamp((${entry}->>${index})::float8 / 1000)`;
  return `(${entry}->>${index})::${type}`;
}

/**
 * A record's budget period in milliseconds from its budget_duration (durationMs in SQL: "30s", "30m",
 * "1h", "1d", "2w", "1mo"); NULL when it is not one (such a budget is never reset, as in resetBudgets).
 */
const PERIOD_MS = `(CASE substring(trim(target.budget_duration) from '^\\d+\\s*(s|m|h|d|w|mo)$')
      WHEN 's' THEN 1000 WHEN 'm' THEN 60000 WHEN 'h' THEN 3600000 WHEN 'd' THEN 86400000
      WHEN 'w' THEN 604800000 WHEN 'mo' THEN 2592000000 END
    * nullif(substring(trim(target.budget_duration) from '^(\\d+)\\s*(?:s|m|h|d|w|mo)$')::numeric, 0))`;

/** The record's budget period ended (and it has a period to start again). */
const PERIOD_OVER = `(target.budget_reset_at IS NOT NULL AND target.budget_reset_at <= now() AND ${PERIOD_MS} IS NOT NULL)`;

/**
 * Adds the inserted rows' spend to one table's records (a data-modifying CTE). A record whose budget
 * period ended starts the new one here (spend = this batch's, next reset one period from now), as
 * resetBudgets would have just before: the spend written from now on counts in the new period.
 * (Also migration 0006's: frozen with this text.)
 */
export const addSpend = (name: string, table: string, id: string, field: string) => `${name} AS (
    UPDATE ${table} AS target SET
      spend = CASE WHEN ${PERIOD_OVER} THEN sums.total ELSE target.spend + sums.total END,
      budget_reset_at = CASE WHEN ${PERIOD_OVER}
        THEN now() + (${PERIOD_MS})::float8 * interval '1 millisecond' ELSE target.budget_reset_at END
    FROM (SELECT ${field} AS id, sum(spend) AS total FROM inserted
          WHERE ${field} IS NOT NULL AND spend > 0 GROUP BY ${field}) AS sums
    WHERE target.${id} = sums.id
  )`;

/**
 * A spend batch as one function call, `SELECT llmux_write_spend($1)`: the same single statement as
 * before (rows as one JSON array of SpendEntry arrays; the rows actually inserted — not those of a
 * retried batch already written — add their spend to their key, user and team, budget resets folded
 * in; atomic by itself), but PL/pgSQL keeps its plan for the session, so the database no longer
 * parses and plans a 3 kB statement with four data-modifying CTEs for every batch (about 3 ms of CPU
 * per batch in PGlite, which runs in the gateway's own thread). Returns the number of rows inserted.
 *
 * And the spend log indexes by key, user and team become partial (`IS NOT NULL`): a row without a
 * user or team (a key-only deployment) or without a key (a host identity) adds no entry to those
 * indexes. Every query on them filters with `column = value`, which implies IS NOT NULL, so the
 * planner uses them as before.
 */
export const migration0005SpendWrite: Migration = {
  statements: [
    `CREATE OR REPLACE FUNCTION llmux_write_spend(batch jsonb) RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  written integer;
BEGIN
  WITH inserted AS (
    INSERT INTO llmux_spend_logs (${SPEND_WRITE_COLUMNS.map(([column]) => column).join(", ")})
    SELECT ${SPEND_WRITE_COLUMNS.map(([, type], index) => entryField(index, type)).join(", ")}
      FROM jsonb_array_elements(batch) AS batch_rows(entry)
    ON CONFLICT (request_id) DO NOTHING RETURNING api_key, user_id, team_id, spend
  ),
  ${addSpend("keys", "llmux_keys", "token", "api_key")},
  ${addSpend("users", "llmux_users", "user_id", "user_id")},
  ${addSpend("teams", "llmux_teams", "team_id", "team_id")}
  SELECT count(*) INTO written FROM inserted;
  RETURN written;
END
$fn$`,
    "DROP INDEX IF EXISTS llmux_spend_logs_api_key",
    "DROP INDEX IF EXISTS llmux_spend_logs_user_id",
    "DROP INDEX IF EXISTS llmux_spend_logs_team_id",
    "CREATE INDEX IF NOT EXISTS llmux_spend_logs_api_key_set ON llmux_spend_logs (api_key, start_time) WHERE api_key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS llmux_spend_logs_user_id_set ON llmux_spend_logs (user_id, start_time) WHERE user_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS llmux_spend_logs_team_id_set ON llmux_spend_logs (team_id, start_time) WHERE team_id IS NOT NULL",
  ],
};
