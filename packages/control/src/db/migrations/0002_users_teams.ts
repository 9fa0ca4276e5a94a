import type { Migration } from "../migration";

/** Users and teams (LiteLLM's LiteLLM_UserTable and LiteLLM_TeamTable), each with its own budget. */
export const migration0002UsersTeams: Migration = {
  statements: [
    `CREATE TABLE IF NOT EXISTS llmux_users (
      user_id TEXT PRIMARY KEY,
      user_alias TEXT,
      user_email TEXT,
      user_role TEXT NOT NULL DEFAULT 'internal_user',
      teams JSONB NOT NULL DEFAULT '[]',
      models JSONB NOT NULL DEFAULT '[]',
      max_budget DOUBLE PRECISION,
      soft_budget DOUBLE PRECISION,
      spend DOUBLE PRECISION NOT NULL DEFAULT 0,
      budget_duration TEXT,
      budget_reset_at TIMESTAMPTZ,
      rpm_limit INTEGER,
      tpm_limit INTEGER,
      max_parallel_requests INTEGER,
      metadata JSONB NOT NULL DEFAULT '{}',
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE IF NOT EXISTS llmux_teams (
      team_id TEXT PRIMARY KEY,
      team_alias TEXT,
      members_with_roles JSONB NOT NULL DEFAULT '[]',
      models JSONB NOT NULL DEFAULT '[]',
      max_budget DOUBLE PRECISION,
      soft_budget DOUBLE PRECISION,
      spend DOUBLE PRECISION NOT NULL DEFAULT 0,
      budget_duration TEXT,
      budget_reset_at TIMESTAMPTZ,
      rpm_limit INTEGER,
      tpm_limit INTEGER,
      max_parallel_requests INTEGER,
      metadata JSONB NOT NULL DEFAULT '{}',
      blocked BOOLEAN NOT NULL DEFAULT FALSE,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`,
  ],
};
