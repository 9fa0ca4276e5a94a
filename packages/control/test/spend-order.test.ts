/**
 * A record-cache refresh overlapping a spend batch never loses the batch's spend nor counts it twice.
 * The store is the real one (PGlite in memory, then a PostgreSQL database of its own) behind hooks
 * that hold a read's or a batch's answer after the database has done the work, so each test forces
 * one interleaving deterministically:
 *
 * - under-count: the refresh reads the key before the batch commits, the batch commits and is
 *   reported (its rows are no longer pending), then the read's answer (without the batch) arrives;
 * - over-count: the batch commits, the refresh reads the key (with the batch) and answers while the
 *   batch's rows are still pending, then the batch is reported;
 * - a management update (/key/update answers the record it wrote, which the cache takes) overlapping
 *   a batch as in the first case.
 *
 * With the reads and batches of one key ordered (SpendOrder), neither interleaving can happen: the
 * read waits for the batch in flight, the batch for the read in flight.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, type ControlStore, createControlPlane, hashKey, openStore } from "../src/index";
import { hookContext, successEvent } from "./call-events";
import { createTestDatabase } from "./postgres";
import { callRoute } from "./route-call";

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A hold on the next read of a key or the next batch: `done` once the database answered, `release` to deliver it. */
interface Hold {
  /** The hooked store was called. */
  started: boolean;
  /** Resolves when the database has done the work (the answer is held until `release`). */
  done: Deferred;
  release: Deferred;
  /** Resolves when the answer was handed back to the caller. */
  returned: Deferred;
}

function hold(): Hold {
  return { started: false, done: deferred(), release: deferred(), returned: deferred() };
}

/** The real store with hooks on `get` (keys only) and `writeSpend`. */
function hookedStore(real: ControlStore) {
  const hooks = {
    nextRead: undefined as Hold | undefined,
    nextWrite: undefined as Hold | undefined,
    nextUpdate: undefined as Hold | undefined,
    writesStarted: 0,
    maintained: deferred(),
  };
  const responses = new Proxy(real.responses, {
    get(target, property) {
      if (property === "deleteExpired") {
        return async () => {
          const removed = await target.deleteExpired();
          hooks.maintained.resolve();
          return removed;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const store = new Proxy(real, {
    get(target, property) {
      if (property === "responses") return responses;
      if (property === "get") {
        return async (kind: "key" | "user" | "team", id: string) => {
          const held = kind === "key" ? hooks.nextRead : undefined;
          if (held) {
            hooks.nextRead = undefined;
            held.started = true;
          }
          const value = await target.get(kind, id);
          if (held) {
            held.done.resolve();
            await held.release.promise;
            held.returned.resolve();
          }
          return value;
        };
      }
      if (property === "update") {
        return async (...args: Parameters<ControlStore["update"]>) => {
          const held = hooks.nextUpdate;
          hooks.nextUpdate = undefined;
          if (held) held.started = true;
          const value = await target.update(...args);
          if (held) {
            held.done.resolve();
            await held.release.promise;
            held.returned.resolve();
          }
          return value;
        };
      }
      if (property === "writeSpend") {
        return async (batch: Parameters<ControlStore["writeSpend"]>[0]) => {
          hooks.writesStarted++;
          const held = hooks.nextWrite;
          hooks.nextWrite = undefined;
          if (held) held.started = true;
          await target.writeSpend(batch);
          if (held) {
            held.done.resolve();
            await held.release.promise;
            held.returned.resolve();
          }
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as ControlStore;
  return { store, hooks };
}

function request(): IncomingMessage {
  return new IncomingMessage(new Socket());
}

/** Lets every callback that needs no I/O run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function suite(name: string, open: () => Promise<{ store: ControlStore; cleanup(): Promise<void> }>) {
  describe(`a cache refresh overlapping a spend batch (${name})`, () => {
    let real: ControlStore;
    let cleanup: () => Promise<void>;
    let plane: ControlPlane;
    let hooks: ReturnType<typeof hookedStore>["hooks"];
    let time = Date.parse("2026-12-05T12:00:00Z");
    let calls = 0;

    beforeAll(async () => {
      ({ store: real, cleanup } = await open());
      const hooked = hookedStore(real);
      hooks = hooked.hooks;
      plane = await createControlPlane({
        store: hooked.store,
        now: () => time,
        cacheTtlMs: 1_000,
        flushIntervalMs: 3_600_000, // batches only when the test flushes
      });
      await hooks.maintained.promise; // the start-up maintenance (expireAll) is over
    });

    afterAll(async () => {
      await plane?.shutdown?.();
      await real?.close();
      await cleanup?.();
    });

    /** One call of `cost` with the key (beforeCall, afterCall); the spend its budget check saw. */
    const attempt = (key: string, cost: number) => {
      const incoming = request();
      const access = plane.authenticate!(key, incoming);
      expect(access).not.toBeInstanceOf(Promise); // cached
      const callId = `call-${++calls}`;
      // what the gateway hands the hooks: the object authenticate returned for the key
      const context = hookContext(callId, access, { request: incoming });
      let refused = false;
      try {
        expect(plane.hooks!.beforeCall!(context)).toBeUndefined();
      } catch (error) {
        expect(String(error)).toMatch(/Budget has been exceeded/);
        refused = true;
      }
      const spend = context.context.metadata.user_api_key_spend;
      if (!refused) {
        plane.hooks!.afterCall!({
          ...context,
          event: successEvent(callId, cost, time),
        } as never);
      }
      return { spend, refused };
    };

    const newKey = async (label: string, maxBudget: number) => {
      const key = `sk-spend-order-${label}-${name.toLowerCase()}-0123456789`;
      await real.insert("key", { token: hashKey(key), key_name: "sk-...6789", max_budget: maxBudget });
      await plane.authenticate!(key, request()); // cached, spend 0
      return key;
    };

    it("a read made before a batch commits, answered after it was reported, does not lose the batch's spend", async () => {
      const key = await newKey("under", 3);
      expect(attempt(key, 3)).toEqual({ spend: 0, refused: false }); // 3 pending

      time += 2_000; // the cached key is stale: the next lookup refreshes it in the background
      const read = hold();
      hooks.nextRead = read;
      expect(plane.authenticate!(key, request())).not.toBeInstanceOf(Promise);
      await read.done.promise; // the database answered spend 0 (no batch yet); the answer is held

      const writesBefore = hooks.writesStarted;
      const flushing = plane.flushSpend();
      await settle();
      // Unordered, the batch commits and is reported now (the key's 3 leave the pending count and are
      // added to the cached record) while the read's answer is still held.
      if (hooks.writesStarted > writesBefore) await flushing;
      read.release.resolve();
      await read.returned.promise;
      await flushing;
      await settle();

      // The database has 3; the cache must too: the budget of 3 is spent.
      expect(attempt(key, 3)).toEqual({ spend: 3, refused: true });
      expect((await real.get("key", hashKey(key)))?.spend).toBe(3);
      // A refresh with nothing in flight agrees.
      time += 2_000;
      const quiet = hold();
      quiet.release.resolve();
      hooks.nextRead = quiet;
      plane.authenticate!(key, request());
      await quiet.returned.promise;
      await settle();
      expect(attempt(key, 3)).toEqual({ spend: 3, refused: true });
    });

    it("a read made after a batch commits, answered before it was reported, does not count the batch twice", async () => {
      const key = await newKey("over", 5);
      expect(attempt(key, 3)).toEqual({ spend: 0, refused: false }); // 3 pending

      time += 2_000;
      const write = hold();
      hooks.nextWrite = write;
      const flushing = plane.flushSpend();
      await write.done.promise; // committed: the database has 3; not yet reported (still pending)

      const read = hold();
      read.release.resolve(); // this read is not held: only observed
      hooks.nextRead = read;
      expect(plane.authenticate!(key, request())).not.toBeInstanceOf(Promise); // starts the refresh
      // Unordered, the read runs at once and its answer (3) is in the cache while 3 are still pending.
      if (read.started) await read.returned.promise;
      await settle();
      write.release.resolve();
      await flushing;
      await read.returned.promise; // ordered, the read ran after the batch was reported
      await settle();

      // 3 spent of 5: the next call is admitted and sees 3 (counted twice it would see 6 and be refused).
      expect(attempt(key, 0)).toEqual({ spend: 3, refused: false });
    });

    it("/user/info shows the pending spend of the user, its keys and its teams", async () => {
      const teamId = `team-pending-${name.toLowerCase()}`;
      const userId = `user-pending-${name.toLowerCase()}`;
      await real.insert("team", { team_id: teamId, max_budget: 100 });
      await real.insert("user", { user_id: userId, teams: [teamId] });
      const key = `sk-spend-order-member-${name.toLowerCase()}-0123456789`;
      await real.insert("key", {
        token: hashKey(key),
        key_name: "sk-...6789",
        user_id: userId,
        team_id: teamId,
      });
      await plane.authenticate!(key, request()); // cached
      expect(attempt(key, 2).refused).toBe(false); // 2 pending for the key, the user and the team

      // sent: GET /user/info?user_id=… with no batch written since the call; read back: the answer
      const { body } = await callRoute(plane, "GET", `/user/info?user_id=${userId}`);
      const answer = body as {
        user_info: { spend: number };
        keys: Array<{ spend: number }>;
        teams: Array<{ team_id: string; spend: number }>;
      };
      expect(answer.user_info.spend).toBe(2);
      expect(answer.keys.map((row) => row.spend)).toEqual([2]);
      expect(answer.teams.map((team) => [team.team_id, team.spend])).toEqual([[teamId, 2]]);
    });

    it("a management update answered after a batch was reported does not lose the batch's spend", async () => {
      const key = await newKey("update", 3);
      expect(attempt(key, 3)).toEqual({ spend: 0, refused: false }); // 3 pending

      const update = hold();
      hooks.nextUpdate = update;
      const route = plane.routes!.find((candidate) => candidate.path === "/key/update")!;
      const incoming = request();
      const response = new ServerResponse(incoming);
      const updating = route.handle(
        incoming,
        response,
        { key, metadata: { team: "search" } },
        { admin: true },
      );
      await update.done.promise; // UPDATE … RETURNING answered spend 0; the answer is held

      const writesBefore = hooks.writesStarted;
      const flushing = plane.flushSpend();
      await settle();
      if (hooks.writesStarted > writesBefore) await flushing; // unordered: committed and reported now
      update.release.resolve();
      await updating;
      await flushing;
      await settle();
      expect(response.statusCode).toBe(200);

      expect(attempt(key, 3)).toEqual({ spend: 3, refused: true });
    });
  });
}

suite("PGlite", async () => ({ store: await openStore({ dataDir: "memory://" }), cleanup: async () => {} }));

suite("PostgreSQL", async () => {
  const database = await createTestDatabase();
  const store = await openStore({ databaseUrl: database.url });
  return { store, cleanup: () => database.drop() };
});
