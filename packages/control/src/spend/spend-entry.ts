import type { SpendLogRow } from "../store/records";

/**
 * One call's spend log row as the writer buffers it and a batch sends it: a flat array in the order of
 * `SPEND_COLUMNS`, the times as epoch milliseconds (the database formats them). A batch is
 * `JSON.stringify(rows)` as is — no field names repeated in every row, so about half the text an object
 * per row made (the text the gateway encodes and sends, and, with PGlite, parses itself). Read back, it
 * is a `SpendLogRow`.
 */
export type SpendEntry = [
  request_id: string,
  call_type: string,
  api_key: string | null,
  key_alias: string | null,
  user_id: string | null,
  team_id: string | null,
  end_user: string | null,
  model: string,
  model_group: string,
  model_id: string | null,
  custom_llm_provider: string | null,
  prompt_tokens: number,
  completion_tokens: number,
  total_tokens: number,
  cache_read_input_tokens: number,
  cache_creation_input_tokens: number,
  spend: number,
  status: SpendLogRow["status"],
  duration_ms: number,
  start_ms: number,
  end_ms: number,
  session_id: string | null,
  request_tags: string[],
  metadata: Record<string, unknown>,
];

/** The spend log table's columns in the entry's order, with the SQL type each is read as. */
export const SPEND_COLUMNS = [
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

/** Positions in a SpendEntry of the fields the writer reads. */
export const REQUEST_ID = 0;
export const API_KEY = 2;
export const USER_ID = 4;
export const TEAM_ID = 5;
export const SPEND = 16;

/** The fields of a SpendEntry by name (tests, and any caller off the per-call path). */
export type SpendFields = Omit<SpendLogRow, "user" | "startTime" | "endTime"> & {
  user_id: string | null;
  start_ms: number;
  end_ms: number;
};

/** A SpendEntry from named fields. */
export function toSpendEntry(fields: SpendFields): SpendEntry {
  return [
    fields.request_id,
    fields.call_type,
    fields.api_key,
    fields.key_alias,
    fields.user_id,
    fields.team_id,
    fields.end_user,
    fields.model,
    fields.model_group,
    fields.model_id,
    fields.custom_llm_provider,
    fields.prompt_tokens,
    fields.completion_tokens,
    fields.total_tokens,
    fields.cache_read_input_tokens,
    fields.cache_creation_input_tokens,
    fields.spend,
    fields.status,
    fields.duration_ms,
    fields.start_ms,
    fields.end_ms,
    fields.session_id,
    fields.request_tags,
    fields.metadata,
  ];
}
