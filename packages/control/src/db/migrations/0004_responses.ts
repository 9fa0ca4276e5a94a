import type { Migration } from "../migration";

/**
 * Stored Responses API responses (previous_response_id, GET/DELETE /v1/responses/{id}): the Response
 * object, the call's input items and the conversation to continue from, with an expiry; and the output
 * items by id (for `item_reference`), removed with their response.
 */
export const migration0004Responses: Migration = {
  statements: [
    `CREATE TABLE IF NOT EXISTS llmux_responses (
      id TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      owner TEXT,
      response JSONB NOT NULL,
      input JSONB NOT NULL,
      items JSONB NOT NULL,
      created_at TIMESTAMPTZ NOT NULL,
      expires_at TIMESTAMPTZ NOT NULL
    )`,
    "CREATE INDEX IF NOT EXISTS llmux_responses_expires_at ON llmux_responses (expires_at)",
    `CREATE TABLE IF NOT EXISTS llmux_response_items (
      item_id TEXT PRIMARY KEY,
      response_id TEXT NOT NULL REFERENCES llmux_responses (id) ON DELETE CASCADE,
      item JSONB NOT NULL
    )`,
    "CREATE INDEX IF NOT EXISTS llmux_response_items_response_id ON llmux_response_items (response_id)",
  ],
};
