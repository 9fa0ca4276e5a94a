import { Sha256 } from "@aws-crypto/sha256-js";
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { SignatureV4 } from "@smithy/signature-v4";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockProvider } from "./mock-provider.js";
import type { Fault, MockProvider } from "./types.js";

let mock: MockProvider;

beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.clear());

const CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const GOOD = { accessKeyId: "AKIDMOCKTEST", secretAccessKey: "mock-secret" };

/** Signs a POST exactly as an AWS client would (SigV4, service "bedrock", region us-east-1) and sends it. */
async function signedPost(
  baseUrl: string,
  path: string,
  body: unknown,
  options: { credentials?: typeof GOOD; fault?: Fault; tamper?: boolean } = {},
): Promise<Response> {
  const url = new URL(`${baseUrl}${path}`);
  const payload = JSON.stringify(body);
  const signer = new SignatureV4({
    credentials: options.credentials ?? GOOD,
    region: "us-east-1",
    service: "bedrock",
    sha256: Sha256,
  });
  const headers: Record<string, string> = {
    host: url.host,
    "content-type": "application/json",
    accept: "application/json",
  };
  if (options.fault) headers["x-mock-fault"] = JSON.stringify(options.fault);
  const signed = await signer.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers,
    body: payload,
  });
  const { host: _host, ...sendHeaders } = signed.headers;
  return fetch(url, {
    method: "POST",
    headers: sendHeaders,
    body: options.tamper ? payload.replace("Hello", "Jello") : payload,
  });
}

/** Splits an application/vnd.amazon.eventstream body into decoded { eventType, payload } events. */
function decodeEvents(
  bytes: Uint8Array,
): Array<{ eventType: string; messageType: string; payload: unknown }> {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const events = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0);
    const message = codec.decode(bytes.subarray(offset, offset + length));
    offset += length;
    events.push({
      eventType: String(message.headers[":event-type"]?.value),
      messageType: String(message.headers[":message-type"]?.value),
      payload: JSON.parse(toUtf8(message.body)),
    });
  }
  return events;
}

const converseBody = {
  system: [{ text: "Be brief." }],
  messages: [{ role: "user", content: [{ text: "Hello Bedrock" }] }],
  inferenceConfig: { maxTokens: 512 },
};
// "Be brief." (9) + "Hello Bedrock" (13) = 22 characters → 6 input tokens.

describe("Bedrock Converse", () => {
  it("answers /converse for a correctly signed request", async () => {
    const response = await signedPost(
      mock.url,
      `/model/${encodeURIComponent(CLAUDE)}/converse`,
      converseBody,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      output: { message: { role: string; content: Array<{ text: string }> } };
      stopReason: string;
      usage: Record<string, number>;
      metrics: { latencyMs: number };
    };
    expect(body.output.message.role).toBe("assistant");
    expect(body.output.message.content[0]!.text).toMatch(/^Mock reply: /);
    expect(body.stopReason).toBe("end_turn");
    expect(body.usage).toEqual({
      inputTokens: 6,
      outputTokens: 12,
      totalTokens: 18,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
    const [recorded] = await mock.waitForRequests(1);
    expect(recorded!.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/converse`);
    expect(String(recorded!.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDMOCKTEST\//);
  });

  it("streams /converse-stream as AWS event-stream frames", async () => {
    const response = await signedPost(
      mock.url,
      `/model/${encodeURIComponent(CLAUDE)}/converse-stream`,
      converseBody,
      { fault: { usage: { cache_read_input_tokens: 100, cache_creation_input_tokens: 20 } } },
    );
    expect(response.headers.get("content-type")).toBe("application/vnd.amazon.eventstream");
    const events = decodeEvents(new Uint8Array(await response.arrayBuffer()));
    const types = events.map((event) => event.eventType);
    expect(types[0]).toBe("messageStart");
    expect(types.filter((type) => type === "contentBlockDelta")).toHaveLength(12);
    expect(types.slice(-3)).toEqual(["contentBlockStop", "messageStop", "metadata"]);
    expect(events.every((event) => event.messageType === "event")).toBe(true);
    expect(events[0]!.payload).toEqual({ role: "assistant" });
    const text = events
      .filter((event) => event.eventType === "contentBlockDelta")
      .map((event) => (event.payload as { delta: { text: string } }).delta.text)
      .join("");
    expect(text).toMatch(/^Mock reply: /);
    expect(events.at(-2)!.payload).toEqual({ stopReason: "end_turn" });
    expect((events.at(-1)!.payload as { usage: unknown }).usage).toEqual({
      inputTokens: 6,
      outputTokens: 12,
      totalTokens: 138,
      cacheReadInputTokens: 100,
      cacheWriteInputTokens: 20,
    });
  });

  it("streams a tool use with contentBlockStart and toolUse input fragments", async () => {
    const toolCall = { name: "lookup", arguments: '{"query":"weather in Rome"}' };
    const response = await signedPost(
      mock.url,
      `/model/${encodeURIComponent(CLAUDE)}/converse-stream`,
      converseBody,
      {
        fault: { toolCall },
      },
    );
    const events = decodeEvents(new Uint8Array(await response.arrayBuffer()));
    const start = events.find((event) => event.eventType === "contentBlockStart")!;
    expect(start.payload).toMatchObject({ contentBlockIndex: 0, start: { toolUse: { name: "lookup" } } });
    const input = events
      .filter((event) => event.eventType === "contentBlockDelta")
      .map((event) => (event.payload as { delta: { toolUse: { input: string } } }).delta.toolUse.input)
      .join("");
    expect(JSON.parse(input)).toEqual({ query: "weather in Rome" });
    expect(events.find((event) => event.eventType === "messageStop")!.payload).toEqual({
      stopReason: "tool_use",
    });
  });

  it("verifies signatures behind a scenario prefix too, and applies the scenario", async () => {
    mock.scenario("throttled", [{ status: 429 }]);
    const throttled = await signedPost(
      mock.scenarioUrl("throttled"),
      `/model/${CLAUDE}/converse`,
      converseBody,
    );
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("x-amzn-errortype")).toMatch(/^ThrottlingException:/);
    expect(await throttled.json()).toEqual({ message: "Mock rate limit exceeded" });
    const ok = await signedPost(mock.scenarioUrl("throttled"), `/model/${CLAUDE}/converse`, converseBody);
    expect(ok.status).toBe(200);
  });

  it("rejects a wrong secret, an unknown key, a missing signature and a tampered body with 403", async () => {
    // Sent: signed with secret "wrong-secret". Came back: 403 InvalidSignatureException.
    const wrongSecret = await signedPost(mock.url, `/model/${CLAUDE}/converse`, converseBody, {
      credentials: { accessKeyId: "AKIDMOCKTEST", secretAccessKey: "wrong-secret" },
    });
    expect(wrongSecret.status).toBe(403);
    expect(wrongSecret.headers.get("x-amzn-errortype")).toMatch(/^InvalidSignatureException:/);
    expect(((await wrongSecret.json()) as { message: string }).message).toMatch(
      /signature we calculated does not match/,
    );

    const unknownKey = await signedPost(mock.url, `/model/${CLAUDE}/converse`, converseBody, {
      credentials: { accessKeyId: "AKIDOTHER", secretAccessKey: "mock-secret" },
    });
    expect(unknownKey.status).toBe(403);
    expect(unknownKey.headers.get("x-amzn-errortype")).toMatch(/^UnrecognizedClientException:/);

    const unsigned = await fetch(`${mock.url}/model/${CLAUDE}/converse`, {
      method: "POST",
      body: JSON.stringify(converseBody),
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get("x-amzn-errortype")).toMatch(/^MissingAuthenticationTokenException:/);

    const tampered = await signedPost(mock.url, `/model/${CLAUDE}/converse`, converseBody, { tamper: true });
    expect(tampered.status).toBe(403);
  });

  it("a malformed sse fault yields a frame that fails its CRC check", async () => {
    const response = await signedPost(mock.url, `/model/${CLAUDE}/converse-stream`, converseBody, {
      fault: { malformed: "sse" },
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(() => decodeEvents(bytes)).toThrow();
  });
});

describe("Bedrock InvokeModel", () => {
  it("embeds with Titan and Cohere", async () => {
    const titan = await signedPost(mock.url, "/model/amazon.titan-embed-text-v2:0/invoke", {
      inputText: "embed me",
      dimensions: 16,
    });
    const titanBody = (await titan.json()) as { embedding: number[]; inputTextTokenCount: number };
    expect(titanBody.embedding).toHaveLength(16);
    expect(titanBody.inputTextTokenCount).toBe(2);
    expect(titan.headers.get("x-amzn-bedrock-input-token-count")).toBe("2");

    const cohere = await signedPost(mock.url, "/model/cohere.embed-english-v3/invoke", {
      texts: ["one", "two"],
      input_type: "search_document",
    });
    const cohereBody = (await cohere.json()) as { embeddings: number[][]; response_type: string };
    expect(cohereBody.response_type).toBe("embeddings_floats");
    expect(cohereBody.embeddings).toHaveLength(2);
    expect(cohereBody.embeddings[0]).toHaveLength(8);
  });

  it("answers Anthropic models in the Messages shape", async () => {
    const response = await signedPost(mock.url, `/model/${CLAUDE}/invoke`, {
      anthropic_version: "bedrock-2023-05-31",
      max_tokens: 100,
      messages: [{ role: "user", content: "Hello" }],
    });
    const body = (await response.json()) as {
      type: string;
      content: Array<{ text: string }>;
      usage: { output_tokens: number };
    };
    expect(body.type).toBe("message");
    expect(body.content[0]!.text).toMatch(/^Mock reply: /);
    expect(response.headers.get("x-amzn-bedrock-output-token-count")).toBe(String(body.usage.output_tokens));
  });
});
