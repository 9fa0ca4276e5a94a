/**
 * The adapter itself, on Express 4 and 5: mounted under a path, with and without express.json(),
 * passing unknown paths on to the host, and turning body-parser failures into OpenAI-format errors.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express4 from "express4";
import express5 from "express5";
import { afterEach, describe, expect, it } from "vitest";
import { llmux } from "./index";

const config = { model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }] };
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function listen(app: { listen: (port: number, host: string, callback: () => void) => Server }) {
  await new Promise<void>((resolve) => {
    server = app.listen(0, "127.0.0.1", resolve);
  });
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const post = (url: string, body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });

// Both majors share the API used here; one type keeps the test readable.
const majors: Array<[string, typeof express5]> = [
  ["Express 4", express4 as unknown as typeof express5],
  ["Express 5", express5],
];

describe.each(majors)("%s", (_name, express) => {
  it.each([true, false])("serves /v1/chat/completions (host JSON parser first: %s)", async (withParser) => {
    const app = express();
    if (withParser) app.use(express.json());
    const gateway = llmux({ config, quietOpenWarning: true });
    app.use("/v1", gateway, gateway.errorHandler);
    const url = await listen(app);
    const response = await post(
      `${url}/v1/chat/completions`,
      JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-llmux-model-group")).toBe("m");
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    await gateway.gateway.shutdown();
  });

  it("passes paths it does not serve to the host's next handler", async () => {
    const app = express();
    const gateway = llmux({ config, quietOpenWarning: true });
    app.use("/v1", gateway);
    app.get("/v1/host-route", (_request, response) => {
      response.json({ host: true });
    });
    const url = await listen(app);
    expect(await (await fetch(`${url}/v1/host-route`)).json()).toEqual({ host: true });
    await gateway.gateway.shutdown();
  });

  it("errorHandler: malformed JSON caught by express.json() → OpenAI-format 400", async () => {
    const app = express();
    app.use(express.json());
    const gateway = llmux({ config, quietOpenWarning: true });
    app.use("/v1", gateway, gateway.errorHandler);
    const url = await listen(app);
    const response = await post(`${url}/v1/chat/completions`, '{"model": ');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    await gateway.gateway.shutdown();
  });

  it("gateway.dashboard: the page at /llmux/, its data only with the master key", async () => {
    const app = express();
    app.use(express.json());
    const gateway = llmux({
      config: { ...config, general_settings: { master_key: "sk-admin" } },
      // The host's own auth: its operators are admins, its developers only callers.
      authorize: (request) => {
        const operator = request.headers["x-operator"];
        if (operator === "ops") return { user: "ops", admin: true };
        return operator === "dev" ? { user: "dev" } : false;
      },
    });
    app.use("/v1", gateway, gateway.errorHandler);
    app.use("/llmux", gateway.dashboard);
    app.get("/llmux/host-route", (_request, response) => {
      response.json({ host: true });
    });
    const url = await listen(app);
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-admin" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(chat.status).toBe(200);
    const callId = chat.headers.get("x-llmux-call-id");
    await gateway.gateway.flush();
    const redirect = await fetch(`${url}/llmux`, { redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/llmux/");
    const page = await fetch(`${url}/llmux/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("llmux dashboard");
    expect((await fetch(`${url}/llmux/api/calls`)).status).toBe(401);
    const calls = await fetch(`${url}/llmux/api/calls`, { headers: { authorization: "Bearer sk-admin" } });
    expect(calls.status).toBe(200);
    const body = (await calls.json()) as { calls: Array<{ callId: string; modelGroup: string }> };
    expect(body.calls.map((call) => [call.callId, call.modelGroup])).toEqual([[callId, "m"]]);
    // An admin from the host's authorize hook sees the data; a mere caller does not.
    expect((await fetch(`${url}/llmux/api/calls`, { headers: { "x-operator": "ops" } })).status).toBe(200);
    const caller = await fetch(`${url}/llmux/api/calls`, { headers: { "x-operator": "dev" } });
    expect(caller.status).toBe(401);
    expect(((await caller.json()) as { error: { code: string } }).error.code).toBe("admin_required");
    // Paths that are not the dashboard's go on to the host.
    expect(await (await fetch(`${url}/llmux/host-route`)).json()).toEqual({ host: true });
    await gateway.gateway.shutdown();
  });
});
