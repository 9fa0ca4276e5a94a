/**
 * @llmux/nestjs on the Express and the Fastify platform (real servers on port 0; upstream = the
 * @llmux/testing mock provider): forRoot / forRootAsync, the mount path beside the host's controllers and
 * global prefix, streaming, Nest's body parser, the injectable LlmuxService, and shutdown.
 */
import "reflect-metadata";
import type { CallbackSink } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { Controller, Get, type INestApplication, Inject, Injectable, Module, Post } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LLMUX_OPTIONS, LlmuxModule, type LlmuxModuleOptions, LlmuxService } from "../src/index";

let mock: MockProvider;
beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(async () => {
  await mock?.close();
});

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  mock.clear();
});

function gatewayOptions(sinks: CallbackSink[] = []): LlmuxModuleOptions {
  return {
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
    sinks,
  };
}

@Injectable()
class Summarizer {
  constructor(@Inject(LlmuxService) private readonly llm: LlmuxService) {}
  async summarize(text: string): Promise<string> {
    const completion = await this.llm.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: `Summarize: ${text}` }],
    });
    return String((completion.choices[0]!.message as { content: string }).content);
  }
}

@Controller("api")
class HostController {
  constructor(@Inject(Summarizer) private readonly summarizer: Summarizer) {}
  @Get("ping")
  ping() {
    return { pong: true };
  }
  @Post("summarize")
  async summarize() {
    return { summary: await this.summarizer.summarize("a long text") };
  }
}

type Platform = "express" | "fastify";

async function start(platform: Platform, imports: unknown[], globalPrefix?: string): Promise<string> {
  @Module({ imports: imports as never[], controllers: [HostController], providers: [Summarizer] })
  class AppModule {}
  const app = await NestFactory.create(
    AppModule,
    platform === "express" ? new ExpressAdapter() : new FastifyAdapter(),
    { logger: false },
  );
  apps.push(app);
  if (globalPrefix) app.setGlobalPrefix(globalPrefix);
  await app.listen(0, "127.0.0.1");
  return (await app.getUrl()).replace("[::1]", "127.0.0.1");
}

const chatBody = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
const post = (url: string, body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });

describe.each<Platform>(["express", "fastify"])("Nest on %s", (platform) => {
  it("forRoot: /v1 beside the host's controllers and a global prefix; health at the root", async () => {
    const url = await start(platform, [LlmuxModule.forRoot(gatewayOptions())], "app");
    const response = await post(`${url}/v1/chat/completions`, chatBody);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { object: string }).object).toBe("chat.completion");
    expect(response.headers.get("x-llmux-model-group")).toBe("gpt-4o");
    expect(await (await fetch(`${url}/app/api/ping`)).json()).toEqual({ pong: true });
    expect((await fetch(`${url}/health/readiness`)).status).toBe(200);
    // paths under /v1 the gateway does not serve fall through to Nest's 404
    expect((await fetch(`${url}/v1/nothing-here`)).status).toBe(404);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("dashboardPath: the dashboard at /llmux/, its data only with the master key", async () => {
    const options = gatewayOptions();
    const url = await start(platform, [
      LlmuxModule.forRoot({
        ...options,
        config: { ...(options as { config: object }).config, general_settings: { master_key: "sk-admin" } },
        dashboardPath: "/llmux",
      } as LlmuxModuleOptions),
    ]);
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-admin" },
      body: chatBody,
    });
    expect(chat.status).toBe(200);
    const redirect = await fetch(`${url}/llmux`, { redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/llmux/");
    expect(await (await fetch(`${url}/llmux/`)).text()).toContain("llmux dashboard");
    expect((await fetch(`${url}/llmux/api/calls`)).status).toBe(401);
    const callId = chat.headers.get("x-llmux-call-id");
    await expect
      .poll(async () => {
        const answer = await fetch(`${url}/llmux/api/calls`, {
          headers: { authorization: "Bearer sk-admin" },
        });
        return ((await answer.json()) as { calls: Array<{ callId: string }> }).calls.map(
          (call) => call.callId,
        );
      })
      .toEqual([callId]);
    // Other paths under it are the host's (Nest's 404 here).
    expect((await fetch(`${url}/llmux/nothing-here`)).status).toBe(404);
  });

  it("streams, and the first event arrives while the upstream is still sending", async () => {
    mock.scenario("slow", { chunkDelayMs: 100 });
    const url = await start(platform, [LlmuxModule.forRoot(gatewayOptions())]);
    const response = await post(
      `${url}/v1/chat/completions`,
      JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "go" }] }),
    );
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^data: \{/);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.completed).toBe(false);
    let rest = "";
    for (let part = await reader.read(); !part.done; part = await reader.read())
      rest += new TextDecoder().decode(part.value);
    expect(rest.trim().endsWith("data: [DONE]")).toBe(true);
  });

  it("malformed JSON → 400 in OpenAI's error format; unknown model → 404", async () => {
    const url = await start(platform, [LlmuxModule.forRoot(gatewayOptions())]);
    const bad = await post(`${url}/v1/chat/completions`, '{"model": "gpt-4o", "messages": [');
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("not valid JSON");
    const unknown = await post(
      `${url}/v1/chat/completions`,
      JSON.stringify({ model: "nope", messages: [{ role: "user", content: "x" }] }),
    );
    expect(unknown.status).toBe(404);
  });

  it("forRootAsync with an injected config provider; LlmuxService calls in-process; close() shuts the gateway down", async () => {
    const events: string[] = [];
    const sink: CallbackSink = {
      name: "memory",
      onSuccess: (event) => void events.push(`${event.callType}:${event.status}`),
      shutdown: async () => void events.push("shutdown"),
    };
    @Module({ providers: [{ provide: "SETTINGS", useValue: gatewayOptions([sink]) }], exports: ["SETTINGS"] })
    class SettingsModule {}
    const url = await start(platform, [
      LlmuxModule.forRootAsync({
        imports: [SettingsModule],
        inject: ["SETTINGS"],
        useFactory: (settings: LlmuxModuleOptions) => ({ ...settings, path: "/llm" }),
      }),
    ]);
    const summary = (await (await post(`${url}/api/summarize`, "{}")).json()) as { summary: string };
    expect(summary.summary).toMatch(/\w+/);
    const [upstream] = await mock.waitForRequests(1);
    expect(upstream!.body.messages[0].content).toBe("Summarize: a long text");
    expect((await post(`${url}/llm/chat/completions`, chatBody)).status).toBe(200);
    expect((await post(`${url}/v1/chat/completions`, chatBody)).status).toBe(404);
    const app = apps.pop()!;
    const service = app.get(LlmuxService);
    expect(app.get(LLMUX_OPTIONS).path).toBe("/llm");
    const message = await service.messages.create({
      model: "gpt-4o",
      max_tokens: 16,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(message.type).toBe("message");
    await service.gateway.flush();
    expect(events).toEqual(["chat:success", "chat:success", "messages:success"]);
    await app.close();
    expect(events.at(-1)).toBe("shutdown");
  });
});
