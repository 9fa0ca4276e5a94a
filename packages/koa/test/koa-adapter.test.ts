/**
 * @llmux/koa on Koa 2 and Koa 3 (real servers on port 0; upstream = the @llmux/testing mock provider):
 * the `prefix` option, koa-mount, @koa/router, koa-bodyparser before the gateway (with and without the
 * error handler), unbuffered streaming and the host's own middleware and routes around the gateway.
 */
import type { Server } from "node:http";
import Router from "@koa/router";
import { createGateway, type Gateway } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import type Koa from "koa";
import bodyParser from "koa-bodyparser";
import mount from "koa-mount";
import Koa2 from "koa2";
import Koa3 from "koa3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { llmux } from "../src/index";

let mock: MockProvider;
let gateway: Gateway;

beforeAll(async () => {
  mock = await startMockProvider();
  gateway = createGateway({
    config: {
      model_list: [
        { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1` } },
        {
          model_name: "slow",
          litellm_params: { model: "openai/gpt-4o", api_base: `${mock.scenarioUrl("slow")}/v1` },
        },
      ],
    },
    quietOpenWarning: true,
  });
});

afterAll(async () => {
  await gateway?.shutdown();
  await mock?.close();
});

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  mock.clear();
});

async function listen(app: Koa): Promise<string> {
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((resolve) => server.once("listening", resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

const chatBody = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
const post = (url: string, body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });

describe.each([
  ["Koa 2", Koa2],
  ["Koa 3", Koa3],
])("%s", (_name, KoaVersion) => {
  it("prefix option: serves /v1, leaves the host's routes and other paths to next()", async () => {
    const app = new KoaVersion();
    app.use(async (context, next) => {
      context.set("x-host", "yes");
      await next();
    });
    app.use(llmux(gateway, { prefix: "/v1" }));
    app.use(async (context) => {
      context.body = { host: context.path };
    });
    const url = await listen(app);

    const response = await post(`${url}/v1/chat/completions`, chatBody);
    const completion = (await response.json()) as { object: string };
    expect(response.status).toBe(200);
    expect(completion.object).toBe("chat.completion");
    expect(response.headers.get("x-llmux-model-group")).toBe("gpt-4o");
    expect(response.headers.get("x-host")).toBe("yes"); // set by the host before the gateway wrote
    // outside the prefix, the gateway's own paths belong to the host
    expect(await (await post(`${url}/chat/completions`, chatBody)).json()).toEqual({
      host: "/chat/completions",
    });
    // under the prefix, paths the gateway does not serve go on to the host
    expect(await (await fetch(`${url}/v1/unknown`)).json()).toEqual({ host: "/v1/unknown" });
    expect(mock.requests).toHaveLength(1);
  });

  it("streams without buffering: the first chunk arrives while the upstream is still sending", async () => {
    mock.scenario("slow", { chunkDelayMs: 100 });
    const app = new KoaVersion();
    app.use(mount("/v1", llmux(gateway)));
    const url = await listen(app);
    const response = await post(
      `${url}/v1/chat/completions`,
      JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "go" }] }),
    );
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^data: \{/);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.completed).toBe(false); // the upstream had not finished when we read the first event
    let rest = "";
    for (let part = await reader.read(); !part.done; part = await reader.read())
      rest += new TextDecoder().decode(part.value);
    expect(rest.trim().endsWith("data: [DONE]")).toBe(true);
  });

  it("koa-mount with koa-bodyparser first: parsed bodies are used; malformed JSON → OpenAI 400 via errorHandler", async () => {
    const middleware = llmux(gateway);
    const app = new KoaVersion();
    app.use(mount("/v1", middleware.errorHandler));
    app.use(bodyParser());
    app.use(mount("/v1", middleware));
    const url = await listen(app);

    const ok = await post(`${url}/v1/chat/completions`, chatBody);
    expect(ok.status).toBe(200);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.messages).toEqual([{ role: "user", content: "hi" }]);

    const bad = await post(`${url}/v1/chat/completions`, '{"model": "gpt-4o", "messages": [');
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_json" });
    expect(body.error.message).toContain("not valid JSON");
  });

  it("@koa/router: gateway routes beside the host's routes, body parsed by koa-bodyparser", async () => {
    const middleware = llmux(gateway);
    const router = new Router();
    router.get("/api/ping", (context) => {
      context.body = { pong: true };
    });
    router.all("/v1/{*rest}", middleware);
    router.get("/health/{*rest}", middleware);
    const app = new KoaVersion();
    app.use(bodyParser());
    app.use(router.routes());
    const url = await listen(app);

    expect(await (await fetch(`${url}/api/ping`)).json()).toEqual({ pong: true });
    expect((await post(`${url}/v1/chat/completions`, chatBody)).status).toBe(200);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((model) => model.id).sort()).toEqual(["gpt-4o", "slow"]);
    expect((await fetch(`${url}/health/liveliness`)).status).toBe(200);
    const unknown = await post(
      `${url}/v1/chat/completions`,
      JSON.stringify({ model: "nope", messages: [{ role: "user", content: "x" }] }),
    );
    expect(unknown.status).toBe(404);
  });

  it("gateway.dashboard: served at /llmux (or under koa-mount), data only with the master key", async () => {
    const guarded = createGateway({
      config: {
        model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }],
        general_settings: { master_key: "sk-admin" },
      },
    });
    const api = llmux(guarded, { prefix: "/v1" });
    const mounted = llmux(guarded, { dashboardPath: "" });
    const app = new KoaVersion();
    app.use(api);
    app.use(api.dashboard);
    app.use(mount("/ops", mounted.dashboard));
    app.use(async (context) => {
      context.body = { host: context.path };
    });
    const url = await listen(app);
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-admin" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(chat.status).toBe(200);
    await guarded.flush();
    const redirect = await fetch(`${url}/llmux`, { redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/llmux/");
    expect(await (await fetch(`${url}/llmux/`)).text()).toContain("llmux dashboard");
    expect((await fetch(`${url}/llmux/api/calls`)).status).toBe(401);
    for (const base of [`${url}/llmux`, `${url}/ops`]) {
      const calls = await fetch(`${base}/api/calls`, { headers: { authorization: "Bearer sk-admin" } });
      const body = (await calls.json()) as { calls: Array<{ callId: string }> };
      // One dashboard per gateway, whichever middleware serves it.
      expect(body.calls.map((call) => call.callId)).toEqual([chat.headers.get("x-llmux-call-id")]);
    }
    expect(await (await fetch(`${url}/llmux/elsewhere`)).json()).toEqual({ host: "/llmux/elsewhere" });
    await guarded.shutdown();
  });
});
