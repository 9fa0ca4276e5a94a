/**
 * Stored Responses API responses in the control plane's database (migration 0004): created with a
 * virtual key through the official openai client, retrieved, listed, continued and deleted through
 * another gateway instance on the same PostgreSQL database, and across a gateway restart on PGlite;
 * another key never sees them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { NotFoundError } from "openai";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { type Harness, MASTER_KEY, startGateway, testConfig } from "./gateway-harness";
import { createTestDatabase } from "./postgres";

function openai(harness: Harness, key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${harness.base}/v1`, maxRetries: 0 });
}

async function generate(harness: Harness, alias: string): Promise<string> {
  const response = await harness.call("POST", "/key/generate", MASTER_KEY, { key_alias: alias });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.key as string;
}

describe("stored responses on PostgreSQL 127.0.0.1:5432: two gateway instances, one database", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("one instance creates, the other retrieves, lists, continues and deletes; another key sees nothing", async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const config = testConfig({ database_url: database.url });
    const first = await startGateway({ config });
    cleanups.push(() => first.close());
    const second = await startGateway({ config });
    cleanups.push(() => second.close());
    expect(first.gateway.storedResponses.kind).toBe("postgres");

    const alice = await generate(first, "alice");
    const bob = await generate(first, "bob");
    const created = await openai(first, alice).responses.create({
      model: "gpt-4o-mini",
      input: [{ role: "user", content: "remember: 42" }],
    });
    await first.gateway.flush();

    const onSecond = openai(second, alice);
    const retrieved = await onSecond.responses.retrieve(created.id);
    expect(retrieved).toEqual(JSON.parse(JSON.stringify(created)));
    const items = await onSecond.responses.inputItems.list(created.id);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({
      role: "user",
      content: [{ type: "input_text", text: "remember: 42" }],
    });

    await expect(openai(second, bob).responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);

    const next = await onSecond.responses.create({
      model: "gpt-4o-mini",
      previous_response_id: created.id,
      input: "what was it?",
    });
    expect(next.previous_response_id).toBe(created.id);
    await second.gateway.flush();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const rows = await client.query(
        "SELECT id, owner, jsonb_array_length(items) AS turns FROM llmux_responses",
      );
      const byId = new Map(rows.rows.map((row) => [row.id as string, row]));
      expect(byId.get(next.id)?.turns).toBe(4);
      expect(byId.get(created.id)?.owner).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(rows.rows)).not.toContain(alice);

      const deleted = await second.call("DELETE", `/v1/responses/${created.id}`, alice);
      expect(deleted.body).toEqual({ id: created.id, object: "response", deleted: true });
      await expect(openai(first, alice).responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
      const items = await client.query(
        "SELECT count(*)::int AS n FROM llmux_response_items WHERE response_id = $1",
        [created.id],
      );
      expect(items.rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe("stored responses on PGlite", () => {
  it("survive a gateway restart (data directory)", async () => {
    const directory = mkdtempSync(join(tmpdir(), "llmux-responses-"));
    try {
      const config = testConfig({ key_store: join(directory, "store") });
      const first = await startGateway({ config });
      expect(first.gateway.storedResponses.kind).toBe("pglite");
      const key = await generate(first, "durable");
      const created = await openai(first, key).responses.create({ model: "gpt-4o-mini", input: "keep me" });
      await first.close();

      const second = await startGateway({ config });
      try {
        const retrieved = await openai(second, key).responses.retrieve(created.id);
        expect(retrieved.id).toBe(created.id);
        const next = await openai(second, key).responses.create({
          model: "gpt-4o-mini",
          previous_response_id: created.id,
          input: "and now?",
        });
        expect(next.previous_response_id).toBe(created.id);
        const unknown = await second.call("GET", "/v1/responses/resp_missing", key);
        expect(unknown.status).toBe(404);
        expect(unknown.body.error).toMatchObject({
          type: "invalid_request_error",
          code: "response_not_found",
        });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
