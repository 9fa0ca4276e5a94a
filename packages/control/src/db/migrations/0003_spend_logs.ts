import type { Migration } from "../migration";

/** One row per call (LiteLLM's LiteLLM_SpendLogs), written in batches. */
export const migration0003SpendLogs: Migration = {
  statements: [
    `CREATE TABLE IF NOT EXISTS llmux_spend_logs (
      request_id TEXT PRIMARY KEY,
      call_type TEXT NOT NULL,
      api_key TEXT,
      key_alias TEXT,
      user_id TEXT,
      team_id TEXT,
      end_user TEXT,
      model TEXT NOT NULL,
      model_group TEXT NOT NULL,
      model_id TEXT,
      custom_llm_provider TEXT,
      prompt_tokens INTEGER NOT NULL DEFAULT 0,
      completion_tokens INTEGER NOT NULL DEFAULT 0,
      total_tokens INTEGER NOT NULL DEFAULT 0,
      cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
      cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
      spend DOUBLE PRECISION NOT NULL DEFAULT 0,
      status TEXT NOT NULL,
      duration_ms INTEGER NOT NULL,
      start_time TIMESTAMPTZ NOT NULL,
      end_time TIMESTAMPTZ NOT NULL,
      session_id TEXT,
      request_tags JSONB NOT NULL DEFAULT '[]',
      metadata JSONB NOT NULL DEFAULT '{}'
    )`,
    "CREATE INDEX IF NOT EXISTS llmux_spend_logs_start_time ON llmux_spend_logs (start_time)",
    "CREATE INDEX IF NOT EXISTS llmux_spend_logs_api_key ON llmux_spend_logs (api_key, start_time)",
    "CREATE INDEX IF NOT EXISTS llmux_spend_logs_user_id ON llmux_spend_logs (user_id, start_time)",
    "CREATE INDEX IF NOT EXISTS llmux_spend_logs_team_id ON llmux_spend_logs (team_id, start_time)",
  ],
};
