/**
 * GET /v1/responses/{id}, DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items over real
 * HTTP with the official openai client (retrieve, delete, inputItems.list): OpenAI's shapes, its 404
 * for unknown ids, per-key visibility, expiry, and a plugin store (the control plane's seam) that is
 * slow or failing.
 */
import type { LlmuxPlugin, PluginResponseStore, StoredResponseRecord } from "@llmux/callbacks";
import OpenAI, { NotFoundError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../providers/provider-test-support";

const MASTER = "sk-master-stored-0123456789";
const ALICE = "sk-alice-stored-0123456789";
const BOB = "sk-bob-stored-0123456789";
const MODELS = [
  { model_name: "mock", litellm_params: { model: "mock/echo", mock_response: "Stored answer." } },
];

let now = 1_700_000_000_000;
let app: TestGateway;

function client(key: string, url = app.url): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });
}

beforeAll(async () => {
  app = await startTestGateway(
    { model_list: MODELS, general_settings: { master_key: MASTER } },
    {
      // Two callers besides the master key, told apart by their key.
      authorize: (request) => {
        const header = String(request.headers.authorization ?? "");
        return header === `Bearer ${ALICE}` || header === `Bearer ${BOB}`;
      },
      clock: { now: () => now },
      responseStore: { ttlMs: 60_000 },
    },
  );
});

afterAll(async () => {
  await app?.close();
});

describe("stored responses (in memory)", () => {
  it("retrieve returns the Response as created; input_items lists the input with ids, paged", async () => {
    const alice = client(ALICE);
    const created = await alice.responses.create({
      model: "mock",
      input: [
        { role: "user", content: "first" },
        { role: "assistant", content: "second" },
        { role: "user", content: [{ type: "input_text", text: "third" }] },
      ],
    });
    const retrieved = await alice.responses.retrieve(created.id);
    expect(retrieved).toEqual(JSON.parse(JSON.stringify(created)));
    expect(retrieved.output_text).toBe("Stored answer.");

    const all = await alice.responses.inputItems.list(created.id, { order: "asc" });
    expect(all.data.map((item) => item.type)).toEqual(["message", "message", "message"]);
    expect(all.data[0]).toMatchObject({
      type: "message",
      role: "user",
      status: "completed",
      content: [{ type: "input_text", text: "first" }],
    });
    expect(all.data[1]).toMatchObject({
      role: "assistant",
      content: [{ type: "output_text", text: "second" }],
    });
    const ids = all.data.map((item) => item.id);
    expect(new Set(ids).size).toBe(3);

    // newest first by default; limit + after page through with has_more, as OpenAI's list does
    const firstPage = await fetchJson(`/v1/responses/${created.id}/input_items?limit=2`, ALICE);
    expect(firstPage.body).toMatchObject({
      object: "list",
      has_more: true,
      first_id: ids[2],
      last_id: ids[1],
    });
    const secondPage = await fetchJson(
      `/v1/responses/${created.id}/input_items?limit=2&after=${ids[1]}`,
      ALICE,
    );
    expect(secondPage.body).toMatchObject({ has_more: false, first_id: ids[0], last_id: ids[0] });
    // the SDK's auto-pagination walks the same pages
    const walked: string[] = [];
    for await (const item of alice.responses.inputItems.list(created.id, { limit: 1, order: "asc" }))
      walked.push(item.id);
    expect(walked).toEqual(ids);

    const badLimit = await fetchJson(`/v1/responses/${created.id}/input_items?limit=0`, ALICE);
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.param).toBe("limit");
  });

  it("keeps a streamed response: retrieve returns the response.completed one", async () => {
    const alice = client(ALICE);
    const stream = await alice.responses.create({ model: "mock", input: "stream it", stream: true });
    let completedId = "";
    for await (const event of stream)
      if (event.type === "response.completed") completedId = event.response.id;
    expect(completedId).toMatch(/^resp_/);
    const retrieved = await alice.responses.retrieve(completedId);
    expect(retrieved.status).toBe("completed");
    expect(retrieved.output_text).toBe("Stored answer.");
    const items = await alice.responses.inputItems.list(completedId);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({ content: [{ type: "input_text", text: "stream it" }] });
  });

  it("delete answers OpenAI's deleted object; the id then 404s and cannot be continued", async () => {
    const alice = client(ALICE);
    const created = await alice.responses.create({ model: "mock", input: "delete me" });
    const deleted = await fetchJson(`/v1/responses/${created.id}`, ALICE, "DELETE");
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: created.id, object: "response", deleted: true });
    await expect(alice.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
    // the SDK's delete on an id that is gone: the same 404
    await expect(alice.responses.delete(created.id)).rejects.toBeInstanceOf(NotFoundError);
    const continued = await fetchJson("/v1/responses", ALICE, "POST", {
      model: "mock",
      previous_response_id: created.id,
      input: "again",
    });
    expect(continued.status).toBe(400);
    expect(continued.body.error.code).toBe("previous_response_not_found");
  });

  it("answers an unknown id with OpenAI's 404 error shape (GET, DELETE, input_items)", async () => {
    for (const [method, path] of [
      ["GET", "/v1/responses/resp_unknown"],
      ["DELETE", "/v1/responses/resp_unknown"],
      ["GET", "/v1/responses/resp_unknown/input_items"],
    ] as const) {
      const answer = await fetchJson(path, ALICE, method);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body).toEqual({
        error: {
          message: "Response with id 'resp_unknown' not found.",
          type: "invalid_request_error",
          param: null,
          code: "response_not_found",
        },
      });
    }
    const unauthenticated = await fetch(`${app.url}/v1/responses/resp_unknown`);
    expect(unauthenticated.status).toBe(401);
  });

  it("never keeps store:false responses", async () => {
    const alice = client(ALICE);
    const created = await alice.responses.create({ model: "mock", input: "forget me", store: false });
    await expect(alice.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("a response is its key's: another key gets a 404 and cannot continue it; the master key sees it", async () => {
    const created = await client(ALICE).responses.create({ model: "mock", input: "mine" });
    await expect(client(BOB).responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
    const bobDelete = await fetchJson(`/v1/responses/${created.id}`, BOB, "DELETE");
    expect(bobDelete.status).toBe(404);
    const bobContinue = await fetchJson("/v1/responses", BOB, "POST", {
      model: "mock",
      previous_response_id: created.id,
      input: "yours?",
    });
    expect(bobContinue.status).toBe(400);
    expect((await client(MASTER).responses.retrieve(created.id)).id).toBe(created.id);
    // and it is still Alice's to continue
    const next = await client(ALICE).responses.create({
      model: "mock",
      previous_response_id: created.id,
      input: "more",
    });
    expect(next.previous_response_id).toBe(created.id);
  });

  it("expires after the configured time", async () => {
    const alice = client(ALICE);
    const created = await alice.responses.create({ model: "mock", input: "short-lived" });
    now += 59_000;
    expect((await alice.responses.retrieve(created.id)).id).toBe(created.id);
    now += 2_000;
    await expect(alice.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("stored responses in a plugin's store (the control plane's seam)", () => {
  it("serves a response whose write is still under way, and uses the plugin's store once written", async () => {
    const store = new ControlledStore();
    const gateway = await startTestGateway(
      { model_list: MODELS },
      { plugins: [pluginWith(store)], responseStore: { ttlMs: 60_000 } },
    );
    try {
      const openai = client("sk-anything", gateway.url);
      const created = await openai.responses.create({ model: "mock", input: "slow write" });
      expect(store.pendingWrites).toBe(1);
      // the write has not finished: read from the pending record, and continued at once
      expect((await openai.responses.retrieve(created.id)).id).toBe(created.id);
      const next = await openai.responses.create({
        model: "mock",
        previous_response_id: created.id,
        input: "go on",
      });
      store.finishWrites();
      await gateway.gateway.flush();
      expect([...store.records.keys()].sort()).toEqual([created.id, next.id].sort());
      expect(store.records.get(next.id)!.items.map((item) => item.content)).toEqual([
        "slow write",
        expect.anything(),
        "go on",
        expect.anything(),
      ]);
      expect((await openai.responses.retrieve(next.id)).previous_response_id).toBe(created.id);
    } finally {
      await gateway.close();
    }
  });

  it("a failing store: the call still answers, the write failure is logged, reads answer 503", async () => {
    const store = new ControlledStore();
    store.failing = true;
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (message: string) => void warnings.push(message),
      error() {},
    };
    const gateway = await startTestGateway({ model_list: MODELS }, { plugins: [pluginWith(store)], logger });
    try {
      const openai = client("sk-anything", gateway.url);
      const created = await openai.responses.create({ model: "mock", input: "to a broken store" });
      expect(created.output_text).toBe("Stored answer.");
      store.finishWrites();
      await gateway.gateway.flush();
      expect(warnings.some((warning) => warning.startsWith("storing a Responses API response failed"))).toBe(
        true,
      );
      const read = await fetchJson(
        `/v1/responses/${created.id}`,
        "sk-anything",
        "GET",
        undefined,
        gateway.url,
      );
      expect(read.status).toBe(503);
      expect(read.body.error.code).toBe("response_store_unavailable");
      expect(JSON.stringify(read.body)).not.toContain("database password");
    } finally {
      await gateway.close();
    }
  });
});

/** A plugin store whose writes wait until the test lets them finish, and can fail. */
class ControlledStore implements PluginResponseStore {
  readonly kind = "controlled";
  readonly records = new Map<string, StoredResponseRecord>();
  failing = false;
  private waiting: Array<() => void> = [];

  get pendingWrites(): number {
    return this.waiting.length;
  }

  finishWrites(): void {
    for (const finish of this.waiting.splice(0)) finish();
  }

  set(record: StoredResponseRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push(() => {
        if (this.failing) reject(new Error("connection refused (database password hunter2)"));
        else {
          this.records.set(record.id, record);
          resolve();
        }
      });
    });
  }

  async get(id: string): Promise<StoredResponseRecord | undefined> {
    if (this.failing) throw new Error("connection refused (database password hunter2)");
    return this.records.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return this.records.delete(id);
  }

  async item(itemId: string) {
    for (const record of this.records.values()) {
      const item = record.outputItems.find((candidate) => candidate.id === itemId);
      if (item) return { item };
    }
    return undefined;
  }
}

function pluginWith(store: PluginResponseStore): LlmuxPlugin {
  return { name: "store-plugin", responseStore: store };
}

async function fetchJson(
  path: string,
  key: string,
  method = "GET",
  body?: unknown,
  url = app.url,
  // biome-ignore lint/suspicious/noExplicitAny: bodies are read field by field in the assertions.
): Promise<{ status: number; body: any }> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${key}` } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, "content-type": "application/json" };
  }
  const response = await fetch(`${url}${path}`, init);
  return { status: response.status, body: await response.json() };
}
