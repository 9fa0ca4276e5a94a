/**
 * Budgets on host identities (no virtual key): the host's resolveContext names the user, a budget is set
 * for that user id through /user/new, and llmux enforces it on HTTP calls and on the in-process API.
 * Also: a budget_duration reset, and the official openai client with a virtual key.
 */
import type { CallEvent } from "@llmux/callbacks";
import { createGatewayClient } from "@llmux/core";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, createControlPlane } from "../src/index";
import { type Harness, MASTER_KEY, startGateway, testConfig } from "./gateway-harness";

let harness: Harness;
let plane: ControlPlane;
let cost = 0;
/** Every call event, as Langfuse/MLflow/Prometheus sinks would see it. */
const events: CallEvent[] = [];

beforeAll(async () => {
  plane = await createControlPlane({
    dataDir: "memory://",
    isMasterKey: (token) => token === MASTER_KEY,
    flushIntervalMs: 50,
  });
  harness = await startGateway({
    config: testConfig({}),
    plugins: [plane],
    sinks: [
      {
        name: "recorder",
        onSuccess: (event) => void events.push(event),
        onFailure: (event) => void events.push(event),
      },
    ],
    // The host's own login: its user id travels in a header set by the host's auth (here: the test).
    resolveContext: (request) => {
      const user = request.headers["x-host-user"];
      return typeof user === "string" ? { user } : undefined;
    },
  });
  const probe = await harness.chat(MASTER_KEY);
  cost = Number(probe.headers.get("x-llmux-response-cost"));
  expect(cost).toBeGreaterThan(0);
});

afterAll(async () => {
  await harness?.close();
});

/** A call from the host's logged-in `user`, with the master key (no virtual key). */
const hostCall = (user: string) =>
  fetch(`${harness.base}/v1/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${MASTER_KEY}`,
      "content-type": "application/json",
      "x-host-user": user,
    },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] }),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));

describe("host identities", () => {
  it("a budget set with /user/new (no key) stops the host's user after the call that crosses it (HTTP)", async () => {
    const created = await harness.call("POST", "/user/new", MASTER_KEY, {
      user_id: "host-alice",
      max_budget: cost * 1.5,
      auto_create_key: false,
    });
    expect(created.status).toBe(200);
    expect(created.body.key).toBeUndefined();
    expect((await hostCall("host-alice")).status).toBe(200);
    expect((await hostCall("host-alice")).status).toBe(200);
    const refused = await hostCall("host-alice");
    expect(refused.status).toBe(400);
    expect(refused.body.error.type).toBe("budget_exceeded");
    expect(refused.body.error.message).toContain("User=host-alice");
    // Another host user is not affected.
    expect((await hostCall("host-bob")).status).toBe(200);
    await harness.gateway.flush();
    const logs = await harness.call("GET", "/spend/logs?user_id=host-alice", MASTER_KEY);
    expect(logs.body).toHaveLength(2);
    expect(logs.body[0].api_key).toBeNull();
  });

  it("the same budget holds on the in-process API (context.user)", async () => {
    await harness.call("POST", "/user/new", MASTER_KEY, {
      user_id: "host-carol",
      max_budget: cost * 0.5,
      auto_create_key: false,
    });
    const client = createGatewayClient(harness.gateway);
    const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hello there" }] };
    await client.chat.completions.create(body, { context: { user: "host-carol" } });
    const refused = await client.chat.completions.create(body, { context: { user: "host-carol" } }).then(
      () => undefined,
      (error: { status?: number; message?: string }) => error,
    );
    expect(refused?.status).toBe(400);
    expect(refused?.message).toContain("User=host-carol");
  });

  it("a host user's model list applies (401 user_model_access_denied)", async () => {
    await harness.call("POST", "/user/new", MASTER_KEY, {
      user_id: "host-dave",
      models: ["claude-sonnet"],
      auto_create_key: false,
    });
    const refused = await hostCall("host-dave");
    expect(refused.status).toBe(401);
    expect(refused.body.error.type).toBe("user_model_access_denied");
  });

  it("budget_duration resets the spend when the period ends", async () => {
    await harness.call("POST", "/user/new", MASTER_KEY, {
      user_id: "host-erin",
      max_budget: cost * 0.5,
      budget_duration: "2s",
      auto_create_key: false,
    });
    expect((await hostCall("host-erin")).status).toBe(200);
    expect((await hostCall("host-erin")).status).toBe(400);
    // Wait for the period to end (polling; no assertion on how long it takes).
    let status = 400;
    const deadline = Date.now() + 60_000;
    while (status === 400 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await hostCall("host-erin")).status;
    }
    expect(status).toBe(200);
    expect((await hostCall("host-erin")).status).toBe(400);
  });
});

describe("the official openai client with a virtual key", () => {
  it("calls, streams, and gets a BadRequestError (budget_exceeded) once the budget is spent", async () => {
    const generated = await harness.call("POST", "/key/generate", MASTER_KEY, {
      key_alias: "openai-sdk",
      max_budget: cost * 2.5,
    });
    const client = new OpenAI({ apiKey: generated.body.key, baseURL: `${harness.base}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    const headerCost = Number(response.headers.get("x-llmux-response-cost"));
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello there" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello there" }],
    });
    const error = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).type).toBe("budget_exceeded");
    await harness.gateway.flush();
    const logs = await harness.call("GET", `/spend/logs?api_key=${generated.body.key}`, MASTER_KEY);
    expect(logs.body).toHaveLength(3);
    expect(logs.body.map((row: { spend: number }) => row.spend)).toContain(headerCost);
    expect(plane.stats().spendRowsDropped).toBe(0);
    // The key's alias, hash and user flow into the call event (what Langfuse, MLflow and Prometheus see).
    await harness.gateway.flush();
    const event = events.find((item) => item.callId === response.headers.get("x-llmux-call-id"));
    expect(event?.metadata).toMatchObject({
      user_api_key_alias: "openai-sdk",
      user_api_key_hash: generated.body.token,
    });
    expect(JSON.stringify(events)).not.toContain(generated.body.key);
  });
});
