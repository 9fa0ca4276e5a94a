import type { Migration } from "../migration";
import { addSpend, entryField, SPEND_WRITE_COLUMNS } from "./0005_spend_write";

/** The SpendEntry fields a batch sends once per group (api_key, key_alias, user_id, team_id: 2..5). */
export const GROUP_FIRST = 2;
export const GROUP_FIELDS = 4;

/** A column's value: from the group's head for the subject fields, else from the row without them. */
function groupedField(index: number, type: (typeof SPEND_WRITE_COLUMNS)[number][1]): string {
  if (index >= GROUP_FIRST && index < GROUP_FIRST + GROUP_FIELDS)
    return entryField(index - GROUP_FIRST, type, "spend_group");
  return entryField(index < GROUP_FIRST ? index : index - GROUP_FIELDS, type);
}

/**
 * A spend batch with the subject sent once per run of rows: `SELECT llmux_write_spend_groups($1)` with
 * `[[api_key, key_alias, user_id, team_id, [row, ...]], ...]`, each row a SpendEntry without those four
 * fields. The key's hash alone is 66 of a row's ~270 bytes of JSON, and with PGlite every byte of the
 * batch's text is CPU of the gateway's own thread twice (handed to the WebAssembly, then parsed as
 * jsonb). Otherwise the same statement as llmux_write_spend (0005, kept for instances not yet
 * upgraded): idempotent on the call id, the inserted rows' spend added to their key, user and team with
 * the budget resets folded in, one statement planned once per session.
 */
export const migration0006SpendGroups: Migration = {
  statements: [
    `CREATE OR REPLACE FUNCTION llmux_write_spend_groups(batch jsonb) RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  written integer;
BEGIN
  WITH inserted AS (
    INSERT INTO llmux_spend_logs (${SPEND_WRITE_COLUMNS.map(([column]) => column).join(", ")})
    SELECT ${SPEND_WRITE_COLUMNS.map(([, type], index) => groupedField(index, type)).join(", ")}
      FROM jsonb_array_elements(batch) AS batch_groups(spend_group),
           jsonb_array_elements(spend_group->${GROUP_FIELDS}) AS batch_rows(entry)
    ON CONFLICT (request_id) DO NOTHING RETURNING api_key, user_id, team_id, spend
  ),
  ${addSpend("keys", "llmux_keys", "token", "api_key")},
  ${addSpend("users", "llmux_users", "user_id", "user_id")},
  ${addSpend("teams", "llmux_teams", "team_id", "team_id")}
  SELECT count(*) INTO written FROM inserted;
  RETURN written;
END
$fn$`,
  ],
};
