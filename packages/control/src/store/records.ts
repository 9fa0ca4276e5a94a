import type { SpendEntry } from "../spend/spend-entry";

export type { SpendEntry } from "../spend/spend-entry";

/**
 * Rows of the control plane's tables, in LiteLLM's field names (the management API returns them as is).
 * Timestamps are ISO strings; JSON columns are parsed.
 */
export interface BudgetFields {
  max_budget: number | null;
  soft_budget: number | null;
  spend: number;
  /** "30s", "1h", "1d", "30d": spend resets to 0 every period. */
  budget_duration: string | null;
  budget_reset_at: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_parallel_requests: number | null;
  models: string[];
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface KeyRecord extends BudgetFields {
  /** SHA-256 (hex) of the key: the primary key. The key itself is never stored. */
  token: string;
  /** "sk-...abcd": enough to recognise a key, never enough to use it. */
  key_name: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  expires: string | null;
  blocked: boolean;
  created_by: string | null;
}

export interface UserRecord extends BudgetFields {
  user_id: string;
  user_alias: string | null;
  user_email: string | null;
  /** LiteLLM roles: "proxy_admin" may use the management API with its keys. */
  user_role: string;
  teams: string[];
}

export interface TeamMember {
  user_id: string;
  role: "admin" | "user";
  user_email?: string | null;
}

export interface TeamRecord extends BudgetFields {
  team_id: string;
  team_alias: string | null;
  members_with_roles: TeamMember[];
  blocked: boolean;
}

export type EntityKind = "key" | "user" | "team";

/** One spend log row (LiteLLM's LiteLLM_SpendLogs, trimmed to what llmux knows). */
export interface SpendLogRow {
  request_id: string;
  call_type: string;
  /** SHA-256 of the virtual key (LiteLLM logs the hashed token too), or null without a key. */
  api_key: string | null;
  key_alias: string | null;
  user: string | null;
  team_id: string | null;
  /** The request's `user` field (LiteLLM's end user / customer). */
  end_user: string | null;
  model: string;
  model_group: string;
  model_id: string | null;
  custom_llm_provider: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  spend: number;
  status: "success" | "failure";
  duration_ms: number;
  startTime: string;
  endTime: string;
  session_id: string | null;
  request_tags: string[];
  metadata: Record<string, unknown>;
}

/** What one flush writes: the log rows; each inserted row adds its spend to its key, user and team. */
export interface SpendBatch {
  rows: SpendEntry[];
}

export interface SpendLogFilter {
  api_key?: string;
  user_id?: string;
  team_id?: string;
  request_id?: string;
  start_date?: Date;
  /** Exclusive. */
  end_date?: Date;
  page: number;
  page_size: number;
}

export interface SpendReportRow {
  day: string;
  group: string | null;
  model: string;
  spend: number;
  total_tokens: number;
  requests: number;
}

export interface ListOptions {
  user_id?: string;
  team_id?: string;
  key_alias?: string;
  page: number;
  page_size: number;
}
