import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgliteClient } from "../src/db/pglite-client";
import type { SqlClient } from "../src/db/sql-client";

/** Handles keeping this process's event loop alive that come from MessagePorts (a worker's included). */
function referencedPorts(): number {
  return process.getActiveResourcesInfo().filter((type) => type === "MessagePort").length;
}

describe("PGlite in a worker thread", () => {
  let client: SqlClient;

  beforeAll(async () => {
    client = await createPgliteClient("memory://");
    await client.query(
      "CREATE TABLE items (id TEXT PRIMARY KEY, amount INT NOT NULL, note JSONB, at TIMESTAMPTZ)",
    );
  });
  afterAll(() => client.close());

  it("answers a query with its rows, values parsed as PGlite parses them", async () => {
    const at = new Date("2026-12-06T10:00:00.000Z");
    await client.query(
      "INSERT INTO items (id, amount, note, at) VALUES ($1, $2, $3, $4), ($5, $6, NULL, NULL)",
      ["a", 3, JSON.stringify({ tags: ["x"] }), at, "b", 4],
    );
    const rows = await client.query<{ id: string; amount: number; note: unknown; at: Date | null }>(
      "SELECT id, amount, note, at FROM items ORDER BY id",
    );
    expect(rows).toEqual([
      { id: "a", amount: 3, note: { tags: ["x"] }, at },
      { id: "b", amount: 4, note: null, at: null },
    ]);
    expect(rows[0]!.at).toBeInstanceOf(Date);
    await client.query("DELETE FROM items");
  });

  it("rejects with an Error that keeps PostgreSQL's fields (SQLSTATE 23505 for a duplicate key)", async () => {
    await client.query("INSERT INTO items (id, amount) VALUES ('dup', 1)");
    const failure = await client.query("INSERT INTO items (id, amount) VALUES ('dup', 2)").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toMatchObject({
      message: 'duplicate key value violates unique constraint "items_pkey"',
      code: "23505",
      severity: "ERROR",
      constraint: "items_pkey",
      detail: "Key (id)=(dup) already exists.",
      table: "items",
    });
    const syntax = await client.query("SELEC 1").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(syntax).toMatchObject({ code: "42601", position: "1" });
    await client.query("DELETE FROM items");
  });

  it("commits a transaction's work and returns its result", async () => {
    const result = await client.transaction(async (transaction) => {
      await transaction.query("INSERT INTO items (id, amount) VALUES ('t1', 1), ('t2', 2)");
      const [sum] = await transaction.query<{ total: number }>("SELECT sum(amount)::int AS total FROM items");
      return sum!.total;
    });
    expect(result).toBe(3);
    expect(await client.query("SELECT id FROM items ORDER BY id")).toEqual([{ id: "t1" }, { id: "t2" }]);
    await client.query("DELETE FROM items");
  });

  it("rolls a transaction back when its work throws, rethrows, and runs other callers' queries after it, not inside it", async () => {
    const cause = new Error("work failed");
    let outside: Promise<Array<{ count: number }>> | undefined;
    let outsideInsert: Promise<unknown> | undefined;
    const failure = await client
      .transaction(async (transaction) => {
        await transaction.query("INSERT INTO items (id, amount) VALUES ('inside', 1)");
        // Another caller, while the transaction is open: inside it, this count would see 'inside'.
        outside = client.query<{ count: number }>("SELECT count(*)::int AS count FROM items");
        outsideInsert = client.query("INSERT INTO items (id, amount) VALUES ('outside', 2)");
        // Give the other caller's statements every chance to run before the rollback.
        await new Promise((resolve) => setTimeout(resolve, 50));
        await transaction.query("SELECT 1");
        throw cause;
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBe(cause);
    expect(await outside).toEqual([{ count: 0 }]);
    await outsideInsert;
    expect(await client.query("SELECT id FROM items ORDER BY id")).toEqual([{ id: "outside" }]);
    await client.query("DELETE FROM items");
  });

  it("an error inside a transaction rejects its query with the code, and the transaction rolls back", async () => {
    await client.query("INSERT INTO items (id, amount) VALUES ('taken', 1)");
    const failure = await client
      .transaction(async (transaction) => {
        await transaction.query("INSERT INTO items (id, amount) VALUES ('new', 1)");
        await transaction.query("INSERT INTO items (id, amount) VALUES ('taken', 2)");
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toMatchObject({ code: "23505" });
    expect(await client.query("SELECT id FROM items ORDER BY id")).toEqual([{ id: "taken" }]);
    await client.query("DELETE FROM items");
  });

  it("keeps the main event loop running while a long statement runs", async () => {
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks += 1;
    }, 5);
    const started = performance.now();
    const [result] = await client.query<{ total: string }>(
      "SELECT sum(x)::text AS total FROM generate_series(1, 5000000) AS x",
    );
    const took = performance.now() - started;
    clearInterval(timer);
    expect(result!.total).toBe("12500002500000");
    // On the main thread the timer could not fire at all until the statement ended (one gap as long
    // as the statement); in the worker it fires throughout.
    expect(took).toBeGreaterThan(200);
    expect(ticks).toBeGreaterThan(10);
    expect(longestGap).toBeLessThan(took / 2);
  });

  it("does not keep the process alive while idle, only while a query waits for its answer", async () => {
    const idle = referencedPorts();
    const running = client.query("SELECT pg_sleep(0.2)");
    expect(referencedPorts()).toBe(idle + 1);
    await running;
    expect(referencedPorts()).toBe(idle);
  });
});

describe("PGlite worker lifecycle", () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), "llmux-pglite-worker-"));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("close() resolves, ends the worker thread, and a query afterwards rejects clearly", async () => {
    const client = await createPgliteClient(join(directory, "store"));
    await client.query("CREATE TABLE kept (id INT)");
    await client.query("INSERT INTO kept VALUES (7)");
    const worker = (client as unknown as { worker: Worker }).worker;
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
    await client.close();
    await exited;
    await expect(client.query("SELECT 1")).rejects.toThrow(/PGlite database is closed/);
    await expect(client.close()).resolves.toBeUndefined();
    // The data directory was closed cleanly: it opens again with the row.
    const again = await createPgliteClient(join(directory, "store"));
    expect(await again.query("SELECT id FROM kept")).toEqual([{ id: 7 }]);
    await again.close();
  });

  it("a worker that dies rejects the pending query and every later one with a clear error", async () => {
    const client = await createPgliteClient("memory://");
    const worker = (client as unknown as { worker: Worker }).worker;
    const warned = new Promise<Error>((resolve) => {
      const listener = (warning: Error) => {
        if ((warning as Error & { code?: string }).code !== "LLMUX_PGLITE_WORKER_EXIT") return;
        process.off("warning", listener);
        resolve(warning);
      };
      process.on("warning", listener);
    });
    const pending = client.query("SELECT pg_sleep(5)");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await worker.terminate();
    await expect(pending).rejects.toThrow(
      /PGlite worker thread stopped unexpectedly .*the database is closed/,
    );
    // Said at once on Node's warning channel, not only when a later write fails.
    expect((await warned).message).toMatch(/stopped unexpectedly .*restart the process/);
    await expect(client.query("SELECT 1")).rejects.toThrow(/stopped unexpectedly/);
    await expect(client.transaction(async () => 1)).rejects.toThrow(/stopped unexpectedly/);
    await expect(client.close()).resolves.toBeUndefined();
  });

  it("rejects createPgliteClient with PGlite's reason when the data directory cannot be opened", async () => {
    const file = join(directory, "not-a-directory");
    writeFileSync(file, "a file where the data directory should be");
    const idle = referencedPorts();
    await expect(createPgliteClient(file)).rejects.toThrow(
      /^ErrnoError \(errno \d+ of PGlite's file system\)$/,
    );
    // The worker that failed to start is gone: nothing is left keeping the process alive.
    expect(referencedPorts()).toBe(idle);
  });
});
