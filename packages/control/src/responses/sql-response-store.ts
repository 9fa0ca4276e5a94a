import type { PluginResponseStore, StoredResponseRecord } from "@llmux/callbacks";
import type { SqlClient } from "../db/sql-client";

interface ResponseRow {
  id: string;
  model: string;
  owner: string | null;
  response: Record<string, unknown>;
  input: Array<Record<string, unknown>>;
  items: Array<Record<string, unknown>>;
  created_at: Date | string;
  expires_at: Date | string;
}

/**
 * The gateway's stored Responses API responses in the control plane's database (table
 * `llmux_responses`, migration 0004), so every instance sees them and they survive a restart. Expired
 * rows are never returned and are deleted by `deleteExpired` (the plane's maintenance round).
 */
export class SqlResponseStore implements PluginResponseStore {
  readonly kind: string;

  constructor(
    private readonly client: SqlClient,
    private readonly now: () => number = Date.now,
  ) {
    this.kind = client.kind;
  }

  async set(record: StoredResponseRecord): Promise<void> {
    await this.client.transaction(async (transaction) => {
      // A replaced response takes its old output items with it (ON DELETE CASCADE).
      await transaction.query("DELETE FROM llmux_responses WHERE id = $1", [record.id]);
      await transaction.query(
        `INSERT INTO llmux_responses (id, model, owner, response, input, items, created_at, expires_at)
         VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8)`,
        [
          record.id,
          record.model,
          record.owner ?? null,
          JSON.stringify(record.response),
          JSON.stringify(record.input),
          JSON.stringify(record.items),
          new Date(record.createdAt).toISOString(),
          new Date(record.expiresAt).toISOString(),
        ],
      );
      if (record.outputItems.length === 0) return;
      await transaction.query(
        `INSERT INTO llmux_response_items (item_id, response_id, item)
         SELECT element->>'id', $1, element FROM jsonb_array_elements($2::jsonb) AS element
         ON CONFLICT (item_id) DO UPDATE SET response_id = EXCLUDED.response_id, item = EXCLUDED.item`,
        [record.id, JSON.stringify(record.outputItems)],
      );
    });
  }

  async get(id: string): Promise<StoredResponseRecord | undefined> {
    const [row] = await this.client.query<ResponseRow>(
      "SELECT * FROM llmux_responses WHERE id = $1 AND expires_at > $2",
      [id, new Date(this.now()).toISOString()],
    );
    if (!row) return undefined;
    const record: StoredResponseRecord = {
      id: row.id,
      model: row.model,
      response: row.response,
      input: row.input,
      items: row.items,
      outputItems: outputItems(row.response),
      createdAt: new Date(row.created_at).getTime(),
      expiresAt: new Date(row.expires_at).getTime(),
    };
    if (row.owner !== null) record.owner = row.owner;
    return record;
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.client.query(
      "DELETE FROM llmux_responses WHERE id = $1 RETURNING expires_at > $2 AS live",
      [id, new Date(this.now()).toISOString()],
    );
    return rows.some((row) => row.live === true);
  }

  async item(itemId: string): Promise<{ item: Record<string, unknown>; owner?: string } | undefined> {
    const [row] = await this.client.query<{ item: Record<string, unknown>; owner: string | null }>(
      `SELECT i.item, r.owner FROM llmux_response_items i JOIN llmux_responses r ON r.id = i.response_id
        WHERE i.item_id = $1 AND r.expires_at > $2`,
      [itemId, new Date(this.now()).toISOString()],
    );
    if (!row) return undefined;
    return row.owner === null ? { item: row.item } : { item: row.item, owner: row.owner };
  }

  /** Deletes the expired responses (and their items); returns how many. */
  async deleteExpired(): Promise<number> {
    const rows = await this.client.query("DELETE FROM llmux_responses WHERE expires_at <= $1 RETURNING id", [
      new Date(this.now()).toISOString(),
    ]);
    return rows.length;
  }
}

function outputItems(response: Record<string, unknown>): Array<Record<string, unknown> & { id: string }> {
  const output = Array.isArray(response.output) ? (response.output as Array<Record<string, unknown>>) : [];
  return output.filter(
    (item): item is Record<string, unknown> & { id: string } => typeof item.id === "string",
  );
}
