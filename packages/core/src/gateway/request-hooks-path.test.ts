/**
 * The request hooks on the call path: beforeCall hooks that answer synchronously run without a promise,
 * a hook answering with a promise is awaited and the hooks after it see its body; afterCall hooks are
 * called in turn and a throwing or rejecting one is logged without touching the call or the others.
 * The call event shows the request's parameters and messages only to consumers that read content.
 */
import type { AfterCallContext, BeforeCallContext, CallEvent } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "./create-gateway";
import { createGatewayClient } from "./in-process-api";
import type { GatewayOptions } from "./types";

let mock: MockProvider;
const gateways: Gateway[] = [];

beforeAll(async () => {
  mock = await startMockProvider();
  mock.scenario("hooks", { content: "hooked reply" });
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.shutdown();
  await mock?.close();
});

function gatewayWith(options: Partial<GatewayOptions>, warnings: string[] = []): Gateway {
  const gateway = createGateway({
    config: {
      model_list: [
        {
          model_name: "hooks",
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: `${mock.scenarioUrl("hooks")}/v1`,
            api_key: "sk-upstream-request-hooks-path-0123",
          },
        },
      ],
    },
    quietOpenWarning: true,
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
      error: () => undefined,
    },
    ...options,
  });
  gateways.push(gateway);
  return gateway;
}

describe("beforeCall hooks", () => {
  it("a synchronous hook's body, then an async hook's, then a synchronous one's: each sees the one before", async () => {
    const seen: Array<{ hook: string; temperature: unknown }> = [];
    const gateway = gatewayWith({
      hooks: [
        {
          beforeCall: (context: BeforeCallContext) => {
            seen.push({ hook: "first (sync)", temperature: context.body.temperature });
            return { ...context.body, temperature: 0.1 };
          },
        },
        {
          beforeCall: async (context: BeforeCallContext) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            seen.push({ hook: "second (async)", temperature: context.body.temperature });
            return { ...context.body, temperature: 0.2 };
          },
        },
        {
          beforeCall: (context: BeforeCallContext) => {
            seen.push({ hook: "third (sync)", temperature: context.body.temperature });
          },
        },
      ],
    });
    // sent: temperature 0.9; each hook sees what the one before returned
    const completion = await createGatewayClient(gateway).chat.completions.create({
      model: "hooks",
      temperature: 0.9,
      messages: [{ role: "user", content: "hello" }],
    });
    expect((completion.choices[0]?.message as { content?: string } | undefined)?.content).toBe(
      "hooked reply",
    );
    expect(seen).toEqual([
      { hook: "first (sync)", temperature: 0.9 },
      { hook: "second (async)", temperature: 0.1 },
      { hook: "third (sync)", temperature: 0.2 },
    ]);
    // what went upstream: the last body
    expect(mock.requests.at(-1)?.body.temperature).toBe(0.2);
  });

  it("a synchronous hook that throws refuses the call; runBeforeCall still answers with a promise", async () => {
    const gateway = gatewayWith({
      hooks: [
        {
          beforeCall: () => {
            throw new Error("refused by the test hook");
          },
        },
      ],
    });
    const error = await createGatewayClient(gateway)
      .chat.completions.create({ model: "hooks", messages: [{ role: "user", content: "hello" }] })
      .catch((caught: unknown) => caught);
    expect(String(error)).toContain("refused by the test hook");
    const pending = gateway.runBeforeCall({
      callId: "test",
      callType: "chat",
      modelGroup: "hooks",
      body: { model: "hooks" },
      context: { tags: [], metadata: {} },
      request: undefined,
      state: {},
    });
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toThrow("refused by the test hook");
  });
});

describe("afterCall hooks", () => {
  it("a throwing and a rejecting hook are logged; the hook after them and the call are untouched", async () => {
    const warnings: string[] = [];
    let resolveSeen: (event: CallEvent) => void = () => undefined;
    const seen = new Promise<CallEvent>((resolve) => {
      resolveSeen = resolve;
    });
    const gateway = gatewayWith(
      {
        hooks: [
          {
            afterCall: () => {
              throw new Error("sync hook failure");
            },
          },
          { afterCall: async () => Promise.reject(new Error("async hook failure")) },
          { afterCall: (context: AfterCallContext) => resolveSeen(context.event) },
        ],
      },
      warnings,
    );
    const completion = await createGatewayClient(gateway).chat.completions.create({
      model: "hooks",
      messages: [{ role: "user", content: "hello" }],
    });
    expect((completion.choices[0]?.message as { content?: string } | undefined)?.content).toBe(
      "hooked reply",
    );
    const event = await seen;
    expect(event.status).toBe("success");
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.join("\n")).toContain("sync hook failure");
    expect(warnings.join("\n")).toContain("async hook failure");
  });
});

describe("the call event's content", () => {
  async function eventOf(readsContent: boolean | undefined): Promise<CallEvent> {
    let resolveSeen: (event: CallEvent) => void = () => undefined;
    const seen = new Promise<CallEvent>((resolve) => {
      resolveSeen = resolve;
    });
    const hook: { afterCall(context: AfterCallContext): void; afterCallReadsContent?: boolean } = {
      afterCall: (context) => resolveSeen(context.event),
    };
    if (readsContent !== undefined) hook.afterCallReadsContent = readsContent;
    const gateway = gatewayWith({ hooks: [hook] });
    await createGatewayClient(gateway).chat.completions.create({
      model: "hooks",
      temperature: 0.3,
      messages: [{ role: "user", content: "secret prompt" }],
      metadata: { trace_user_id: "user-7" },
    } as never);
    return seen;
  }

  it("a hook that reads no content gets the outcome without parameters or messages", async () => {
    const event = await eventOf(false);
    expect(event.status).toBe("success");
    expect(event.usage?.totalTokens).toBeGreaterThan(0);
    expect(event.modelGroup).toBe("hooks");
    expect(event.requestParams).toEqual({});
    expect(event.messages).toBeUndefined();
    expect(JSON.stringify(event)).not.toContain("secret prompt");
  });

  it("a hook that reads content gets both, and the event's JSON has no keys for what is absent", async () => {
    const event = await eventOf(undefined);
    expect(event.requestParams).toEqual({ temperature: 0.3 });
    expect(event.messages).toEqual([{ role: "user", content: "secret prompt" }]);
    const json = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
    expect(json.status).toBe("success");
    expect(json.deploymentId).toBe(event.deploymentId);
    expect("error" in json).toBe(false);
    expect("costReason" in json).toBe(event.cost === null);
  });
});
