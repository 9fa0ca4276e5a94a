/**
 * The route table's authentication: every route the gateway or a plugin mounts answers 401 without
 * the key (or with a wrong one) unless it is marked "public", the key is checked before the body is
 * read, and the handler receives the resolved access. Real HTTP on 127.0.0.1, port 0.
 */
import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { LlmuxPlugin, RouteAccess } from "@llmux/callbacks";
import { afterEach, describe, expect, it } from "vitest";
import { LlmuxError } from "../errors/llmux-error";
import { createGateway } from "../gateway/create-gateway";
import type { GatewayOptions } from "../gateway/types";
import { keyMatches } from "./authenticate";
import { createHandler, type LlmuxHandler } from "./create-handler";

const MASTER_KEY = "sk-master-route-auth-0123456789";

interface Started {
  url: string;
  handler: LlmuxHandler;
  calls: Array<{ path: string; access: RouteAccess | undefined }>;
  close(): Promise<void>;
}

const started: Started[] = [];
afterEach(async () => {
  for (const app of started.splice(0)) await app.close();
});

/** A plugin with one route of each auth level; each records that it ran and with which access. */
function probePlugin(calls: Started["calls"]): LlmuxPlugin {
  const record =
    (path: string) =>
    (
      _request: unknown,
      response: import("node:http").ServerResponse,
      _body: unknown,
      access?: RouteAccess,
    ) => {
      calls.push({ path, access });
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"ok":true}');
    };
  return {
    name: "probe",
    routes: [
      { method: "POST", path: "/probe/default", handle: record("/probe/default") },
      { method: "POST", path: "/probe/caller", auth: "caller", handle: record("/probe/caller") },
      { method: "GET", path: "/probe/admin", auth: "admin", handle: record("/probe/admin") },
      { method: "GET", path: "/probe/public", auth: "public", handle: record("/probe/public") },
      { method: "GET", path: "/probe/items/{id}", handle: record("/probe/items/{id}") },
    ],
  };
}

async function start(options: Partial<GatewayOptions> = {}, masterKey = MASTER_KEY): Promise<Started> {
  const calls: Started["calls"] = [];
  const gateway = createGateway({
    config: {
      model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }],
      general_settings: masterKey ? { master_key: masterKey } : {},
    },
    quietOpenWarning: true,
    plugins: [probePlugin(calls)],
    ...options,
  });
  await gateway.ready;
  const handler = createHandler(gateway);
  const server: Server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const app: Started = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handler,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.shutdown();
    },
  };
  started.push(app);
  return app;
}

/** Resolves once `done()` holds (checked every 5 ms, for at most 2 s). */
async function waitFor(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > 2000) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A concrete path for a route path (a "{param}" segment becomes "x"), under /v1. */
function concrete(path: string): string {
  return `/v1${path.replace(/\{[^}]+\}/g, "x")}`;
}

describe("every mounted route is authenticated unless marked public", () => {
  it("answers 401 to every non-public route without a key, with a wrong key and with a longer key", async () => {
    const app = await start();
    const routes = await app.handler.routes();
    // The built-in routes and the probe plugin's are all in the one table.
    const keys = routes.map((route) => `${route.method} ${route.path}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        "GET /health/liveliness",
        "GET /health/readiness",
        "POST /chat/completions",
        "POST /embeddings",
        "POST /messages",
        "POST /messages/count_tokens",
        "GET /models",
        "POST /probe/default",
        "GET /probe/admin",
        "GET /probe/items/{id}",
      ]),
    );
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer sk-wrong" },
      { authorization: `Bearer ${MASTER_KEY}x` },
      { "x-api-key": MASTER_KEY.slice(0, -1) },
    ];
    for (const route of routes) {
      for (const headers of attempts) {
        const response = await fetch(`${app.url}${concrete(route.path)}`, {
          method: route.method,
          headers: { "content-type": "application/json", ...headers },
          ...(route.method === "GET" || route.method === "HEAD"
            ? {}
            : { body: JSON.stringify({ model: "m", messages: [] }) }),
        });
        const text = await response.text();
        if (route.auth === "public") {
          expect(response.status, `${route.method} ${route.path}`).toBe(200);
        } else {
          expect(response.status, `${route.method} ${route.path} with ${JSON.stringify(headers)}`).toBe(401);
          expect(text).not.toContain(MASTER_KEY);
        }
      }
    }
    // Only the public probe route ever ran.
    expect(new Set(app.calls.map((call) => call.path))).toEqual(new Set(["/probe/public"]));
    // The public routes are exactly the health checks, HEAD / (Claude Code's check) and the probe's public one.
    expect(routes.filter((route) => route.auth === "public").map((route) => route.path)).toEqual([
      "/health/liveliness",
      "/health/readiness",
      "/",
      "/probe/public",
    ]);
  });

  it("passes the resolved access to the handler; admin routes need the master key", async () => {
    const app = await start({
      authorize: (request) =>
        request.headers.authorization === "Bearer team-key"
          ? { user: "alice", team: "blue", allowedModels: ["m"] }
          : false,
    });
    const asTeam = { authorization: "Bearer team-key" };
    expect((await fetch(`${app.url}/v1/probe/default`, { method: "POST", headers: asTeam })).status).toBe(
      200,
    );
    expect(app.calls.at(-1)).toEqual({
      path: "/probe/default",
      access: { context: { user: "alice", team: "blue" }, allowedModels: ["m"] },
    });
    // A caller key is not an admin key.
    expect((await fetch(`${app.url}/v1/probe/admin`, { headers: asTeam })).status).toBe(401);
    const admin = await fetch(`${app.url}/v1/probe/admin`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(admin.status).toBe(200);
    expect(app.calls.at(-1)).toEqual({ path: "/probe/admin", access: { admin: true } });
    const item = await fetch(`${app.url}/v1/probe/items/42`, { headers: { "x-api-key": MASTER_KEY } });
    expect(item.status).toBe(200);
  });

  it("checks the key before reading the body: a 100 MB upload without a key is refused at once", async () => {
    const app = await start();
    const { port } = new URL(app.url);
    // Headers announce 100 MB; only 10 bytes are ever sent. Were the body read first, no answer would come
    // (and the plugin route would have run).
    for (const path of ["/v1/chat/completions", "/v1/probe/default"]) {
      const status = await new Promise<number>((resolve, reject) => {
        const outgoing = httpRequest(
          {
            host: "127.0.0.1",
            port: Number(port),
            method: "POST",
            path,
            headers: { "content-type": "application/json", "content-length": String(100 * 1024 * 1024) },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
            outgoing.destroy();
          },
        );
        outgoing.on("error", (error) => {
          if ((error as NodeJS.ErrnoException).code !== "ECONNRESET") reject(error);
        });
        outgoing.write('{"model":"');
      });
      expect(status, path).toBe(401);
    }
    expect(app.calls).toEqual([]);
  });

  it("compares keys by digest: any length, no throw, only the exact key matches", () => {
    expect(keyMatches(MASTER_KEY, MASTER_KEY)).toBe(true);
    expect(keyMatches("", MASTER_KEY)).toBe(false);
    expect(keyMatches(`${MASTER_KEY}${"x".repeat(1000)}`, MASTER_KEY)).toBe(false);
    expect(keyMatches(MASTER_KEY.toUpperCase(), MASTER_KEY)).toBe(false);
  });

  it("leaves an open gateway (no key, no authorize hook) open, the admin routes included", async () => {
    const app = await start({}, "");
    expect((await fetch(`${app.url}/v1/probe/admin`)).status).toBe(200);
    expect((await fetch(`${app.url}/v1/models`)).status).toBe(200);
  });
});

describe("gateway.rootPaths", () => {
  it("lists health and the plugin routes marked root", async () => {
    const gateway = createGateway({
      config: { model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }] },
      quietOpenWarning: true,
      plugins: [
        {
          name: "rooted",
          routes: [
            { method: "GET", path: "/metrics", root: true, handle: () => {} },
            { method: "POST", path: "/feedback", handle: () => {} },
          ],
        },
      ],
    });
    await gateway.ready;
    expect(gateway.rootPaths()).toEqual(["/health/liveliness", "/health/readiness", "/metrics"]);
    await gateway.shutdown();
  });
});

describe("virtual keys (plugin authenticate)", () => {
  it("hashes the presented key once and hands the plugin its SHA-256 hex; the master key still wins first", async () => {
    const seen: Array<{ token: string; keyHash: string | undefined }> = [];
    const keys: LlmuxPlugin = {
      name: "virtual-keys",
      authenticate: (token, _request, keyHash) => {
        seen.push({ token, keyHash });
        return token === "sk-virtual-123" ? { context: { user: "alice" } } : undefined;
      },
    };
    const app = await start({ plugins: [probePlugin([]), keys] });
    // sent: the virtual key; the plugin gets it with its digest and admits the caller as alice
    const virtual = await fetch(`${app.url}/v1/probe/caller`, {
      method: "POST",
      headers: { authorization: "Bearer sk-virtual-123" },
    });
    expect(virtual.status).toBe(200);
    expect(seen).toEqual([
      { token: "sk-virtual-123", keyHash: createHash("sha256").update("sk-virtual-123").digest("hex") },
    ]);
    // sent: the master key; admitted without asking the plugin
    const master = await fetch(`${app.url}/v1/probe/admin`, { headers: { "x-api-key": MASTER_KEY } });
    expect(master.status).toBe(200);
    expect(seen).toHaveLength(1);
    // sent: an unknown key; the plugin is asked (with its digest) and the call refused with a 401
    const unknown = await fetch(`${app.url}/v1/probe/caller`, {
      method: "POST",
      headers: { authorization: "Bearer sk-unknown" },
    });
    expect(unknown.status).toBe(401);
    expect(seen.at(-1)).toEqual({
      token: "sk-unknown",
      keyHash: createHash("sha256").update("sk-unknown").digest("hex"),
    });
  });

  it("hands a call's hooks the very object the plugin's authenticate returned (access), and none for the master key", async () => {
    const keyAccess = { context: { user: "hooked-user" } };
    const seen: Array<{ hook: string; access: unknown }> = [];
    const keys: LlmuxPlugin = {
      name: "hooked-keys",
      authenticate: (token) => (token === "sk-hooked-key" ? keyAccess : undefined),
      hooks: {
        beforeCall: (context) => {
          seen.push({ hook: "before", access: context.access });
        },
        afterCall: (context) => {
          seen.push({ hook: "after", access: context.access });
        },
        afterCallReadsContent: false,
      },
    };
    const app = await start({ plugins: [keys] });
    const chat = (key: string) =>
      fetch(`${app.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
      });
    // sent: a chat call with the plugin's key; both hooks got the plugin's own object
    expect((await chat("sk-hooked-key")).status).toBe(200);
    await waitFor(() => seen.length === 2);
    expect(seen.map((entry) => entry.hook)).toEqual(["before", "after"]);
    for (const entry of seen) expect(entry.access).toBe(keyAccess);
    // sent: the same call with the master key; no plugin admitted it, so no access
    expect((await chat(MASTER_KEY)).status).toBe(200);
    await waitFor(() => seen.length === 4);
    expect(seen.slice(2).map((entry) => entry.access)).toEqual([undefined, undefined]);
  });

  it("asks plugins in turn whether they answer at once or with a promise; a plugin's error is a 401, not a crash", async () => {
    const asked: string[] = [];
    // answers with a promise, and recognises only its own key
    const slow: LlmuxPlugin = {
      name: "slow-keys",
      authenticate: async (token) => {
        asked.push(`slow:${token}`);
        return token === "sk-slow-key" ? { context: { user: "slow-user" }, admin: true } : undefined;
      },
    };
    // answers at once; throws a 401 for a key it knows to be blocked
    const fastAccess = { context: { user: "fast-user" } };
    const fast: LlmuxPlugin = {
      name: "fast-keys",
      authenticate: (token) => {
        asked.push(`fast:${token}`);
        if (token === "sk-blocked-key") {
          throw new LlmuxError({ kind: "authentication", message: "Key is blocked" });
        }
        return token === "sk-fast-key" ? fastAccess : undefined;
      },
    };
    const calls: Started["calls"] = [];
    const app = await start({ plugins: [probePlugin(calls), slow, fast] });
    // sent: the second plugin's key; the first answered undefined through a promise, the second admits
    const second = await fetch(`${app.url}/v1/probe/caller`, {
      method: "POST",
      headers: { authorization: "Bearer sk-fast-key" },
    });
    expect(second.status).toBe(200);
    expect(asked).toEqual(["slow:sk-fast-key", "fast:sk-fast-key"]);
    expect(calls.at(-1)?.access).toEqual({ context: { user: "fast-user" }, pluginAccess: fastAccess });
    // the plugin's own answer, not a copy
    expect(calls.at(-1)?.access?.pluginAccess).toBe(fastAccess);
    // sent: the first plugin's key to an admin route; admitted by the promise, the second never asked
    const first = await fetch(`${app.url}/v1/probe/admin`, {
      headers: { authorization: "Bearer sk-slow-key" },
    });
    expect(first.status).toBe(200);
    expect(asked.slice(2)).toEqual(["slow:sk-slow-key"]);
    expect(calls.at(-1)?.access).toEqual({
      context: { user: "slow-user" },
      admin: true,
      pluginAccess: { context: { user: "slow-user" }, admin: true },
    });
    // sent: the second plugin's key to an admin route; it is not an admin key: 401 admin_required
    const notAdmin = await fetch(`${app.url}/v1/probe/admin`, {
      headers: { authorization: "Bearer sk-fast-key" },
    });
    expect(notAdmin.status).toBe(401);
    expect(((await notAdmin.json()) as { error: { code: string } }).error.code).toBe("admin_required");
    // sent: a key the second plugin refuses by throwing; answered 401 in OpenAI's format, the server lives on
    const blocked = await fetch(`${app.url}/v1/probe/caller`, {
      method: "POST",
      headers: { authorization: "Bearer sk-blocked-key" },
    });
    expect(blocked.status).toBe(401);
    expect(((await blocked.json()) as { error: { message: string } }).error.message).toContain(
      "Key is blocked",
    );
    const after = await fetch(`${app.url}/v1/probe/caller`, {
      method: "POST",
      headers: { authorization: "Bearer sk-fast-key" },
    });
    expect(after.status).toBe(200);
  });
});
