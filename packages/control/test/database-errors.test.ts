/**
 * Which database errors the management API answers with 503 ("try again later") rather than 500: the
 * store's query fails as a lost or closing database would. Sent: POST /key/generate through the plane's
 * route while the store's insert rejects with each error; read back: the status and the error type.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, type ControlStore, createControlPlane, openStore } from "../src/index";
import { callRoute } from "./route-call";

let store: ControlStore;
let plane: ControlPlane;

beforeAll(async () => {
  store = await openStore({ dataDir: "memory://" });
  plane = await createControlPlane({ store });
});

afterAll(async () => {
  await plane.shutdown?.();
  await store.close();
});

async function generateWhileInsertFails(error: Error): Promise<{ status: number; type: string }> {
  const insert = store.insert;
  store.insert = () => Promise.reject(error);
  try {
    const answer = await callRoute(plane, "POST", "/key/generate", { key_alias: "while-failing" });
    return { status: answer.status, type: (answer.body as { error: { type: string } }).error.type };
  } finally {
    store.insert = insert;
  }
}

describe("database errors of the management API", () => {
  it.each([
    ["PGlite closing (a query sent while close() runs)", new Error("PGlite is closing")],
    ["the PGlite worker gone", new Error("llmux control plane: the PGlite database is closed")],
    [
      "PostgreSQL refused",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    ],
    [
      "PostgreSQL shut down by an admin",
      Object.assign(new Error("terminating connection"), { code: "57P01" }),
    ],
  ])("answers 503 no_db_connection for %s", async (_label, error) => {
    expect(await generateWhileInsertFails(error)).toEqual({ status: 503, type: "no_db_connection" });
  });

  it("answers 500 for an error that is not a lost database (a bug is not 'try again later')", async () => {
    const answer = await generateWhileInsertFails(new Error('column "nope" does not exist'));
    expect(answer.status).toBe(500);
  });
});
