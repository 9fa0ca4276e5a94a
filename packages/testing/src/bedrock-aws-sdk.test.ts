// The official AWS SDK against the mock: its SigV4 signatures must verify, and its event-stream
// decoder must read the mock's converse-stream frames.
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  ThrottlingException,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockProvider } from "./mock-provider.js";
import type { MockProvider } from "./types.js";

let mock: MockProvider;

beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(async () => {
  await mock.close();
});

function client(endpoint: string, secretAccessKey = "mock-secret"): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "AKIDMOCKTEST", secretAccessKey },
    maxAttempts: 1,
    // The client defaults to HTTP/2; the mock speaks HTTP/1.1 (as llmux's own Bedrock adapter does).
    requestHandler: new NodeHttpHandler(),
  });
}

const modelId = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const messages = [{ role: "user" as const, content: [{ text: "Hello from the AWS SDK" }] }];

describe("Bedrock through @aws-sdk/client-bedrock-runtime", () => {
  it("Converse and ConverseStream", async () => {
    const bedrock = client(mock.url);
    const answer = await bedrock.send(new ConverseCommand({ modelId, messages }));
    const text = answer.output?.message?.content?.[0]?.text;
    expect(text).toMatch(/^Mock reply: /);
    expect(answer.usage?.outputTokens).toBe(12);

    const streamed = await bedrock.send(new ConverseStreamCommand({ modelId, messages }));
    let streamedText = "";
    let stopReason: string | undefined;
    let outputTokens: number | undefined;
    for await (const event of streamed.stream!) {
      if (event.contentBlockDelta?.delta?.text) streamedText += event.contentBlockDelta.delta.text;
      if (event.messageStop) stopReason = event.messageStop.stopReason;
      if (event.metadata) outputTokens = event.metadata.usage?.outputTokens;
    }
    expect(streamedText).toBe(text);
    expect(stopReason).toBe("end_turn");
    expect(outputTokens).toBe(12);
    bedrock.destroy();
  });

  it("InvokeModel (Titan embeddings)", async () => {
    const bedrock = client(mock.url);
    const result = await bedrock.send(
      new InvokeModelCommand({
        modelId: "amazon.titan-embed-text-v2:0",
        contentType: "application/json",
        body: JSON.stringify({ inputText: "vectors please", dimensions: 4 }),
      }),
    );
    const body = JSON.parse(new TextDecoder().decode(result.body)) as { embedding: number[] };
    expect(body.embedding).toHaveLength(4);
    bedrock.destroy();
  });

  it("the SDK sees ThrottlingException from a scenario and a signature error from a wrong secret", async () => {
    mock.scenario("aws-throttled", { status: 429 });
    const throttled = await client(mock.scenarioUrl("aws-throttled"))
      .send(new ConverseCommand({ modelId, messages }))
      .catch((caught: unknown) => caught);
    expect(throttled).toBeInstanceOf(ThrottlingException);

    const denied = (await client(mock.url, "not-the-secret")
      .send(new ConverseCommand({ modelId, messages }))
      .catch((caught: unknown) => caught)) as { name: string; $metadata: { httpStatusCode: number } };
    expect(denied.$metadata.httpStatusCode).toBe(403);
    expect(denied.name).toBe("InvalidSignatureException");
  });
});
