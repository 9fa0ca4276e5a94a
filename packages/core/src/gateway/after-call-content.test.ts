/**
 * An after-call hook that declares `afterCallReadsContent: false` (the control plane's spend row) gets
 * the call's outcome without the streamed content being assembled for it; a hook that does not
 * declare it still sees the response text (the default), and neither changes what the client gets.
 */
import type { AfterCallContext, CallEvent } from "@llmux/callbacks";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "./create-gateway";
import { createGatewayClient } from "./in-process-api";

const TEXT = "alpha beta gamma delta";
let mock: MockProvider;
const gateways: Gateway[] = [];

beforeAll(async () => {
  mock = await startMockProvider();
  mock.scenario("scripted", { content: TEXT });
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.shutdown();
  await mock?.close();
});

/** A streamed call through a gateway whose only listener is one after-call hook; that hook's event. */
async function streamedEvent(readsContent: boolean | undefined): Promise<CallEvent> {
  let seen: ((event: CallEvent) => void) | undefined;
  const done = new Promise<CallEvent>((resolve) => {
    seen = resolve;
  });
  const hook: { afterCall(context: AfterCallContext): void; afterCallReadsContent?: boolean } = {
    afterCall: (context) => seen!(context.event),
  };
  if (readsContent !== undefined) hook.afterCallReadsContent = readsContent;
  const gateway = createGateway({
    config: {
      model_list: [
        {
          model_name: "scripted",
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: `${mock.scenarioUrl("scripted")}/v1`,
            api_key: "sk-upstream-after-call-content-0123",
          },
        },
      ],
    },
    quietOpenWarning: true,
    hooks: [hook],
  });
  gateways.push(gateway);
  const stream = await createGatewayClient(gateway).chat.completions.create({
    model: "scripted",
    stream: true,
    messages: [{ role: "user", content: "count" }],
  });
  let assembled = "";
  for await (const chunk of stream)
    assembled += String((chunk.choices[0]?.delta as { content?: string } | undefined)?.content ?? "");
  expect(assembled).toBe(TEXT);
  return done;
}

describe("afterCallReadsContent", () => {
  it("false: the hook gets status, usage and cost, and no assembled response text", async () => {
    const event = await streamedEvent(false);
    expect(event.status).toBe("success");
    expect(event.usage?.totalTokens).toBeGreaterThan(0);
    expect(event.finishReasons).toEqual(["stop"]);
    expect(JSON.stringify(event.response ?? null)).not.toContain("gamma");
  });

  it("not declared: the hook sees the streamed response text, as before", async () => {
    const event = await streamedEvent(undefined);
    expect(JSON.stringify(event.response)).toContain(TEXT);
  });
});
