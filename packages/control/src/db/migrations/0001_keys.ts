import type { Migration } from "../migration";

/** Virtual keys (LiteLLM's LiteLLM_VerificationToken): only the SHA-256 of a key is stored. */
export const migration0001Keys: Migration = {
  statements: [
    `CREATE TABLE IF NOT EXISTS llmux_keys (
      token TEXT PRIMARY KEY,
      key_name TEXT NOT NULL,
      key_alias TEXT UNIQUE,
      user_id TEXT,
      team_id TEXT,
      models JSONB NOT NULL DEFAULT '[]',
      max_budget DOUBLE PRECISION,
      soft_budget DOUBLE PRECISION,
      spend DOUBLE PRECISION NOT NULL DEFAULT 0,
      budget_duration TEXT,
      budget_reset_at TIMESTAMPTZ,
      rpm_limit INTEGER,
      tpm_limit INTEGER,
      max_parallel_requests INTEGER,
      expires TIMESTAMPTZ,
      metadata JSONB NOT NULL DEFAULT '{}',
      blocked BOOLEAN NOT NULL DEFAULT FALSE,
      created_by TEXT,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`,
    "CREATE INDEX IF NOT EXISTS llmux_keys_user_id ON llmux_keys (user_id)",
    "CREATE INDEX IF NOT EXISTS llmux_keys_team_id ON llmux_keys (team_id)",
  ],
};
