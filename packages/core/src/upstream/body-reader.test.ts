import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse } from "./read-sse";
import { UpstreamClient } from "./upstream-client";

let mock: MockProvider;
const client = new UpstreamClient();

beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(async () => {
  await client.dispatcher.close();
  await mock.close();
});

async function streamRequest(stream: boolean) {
  return client.send({
    url: `${mock.scenarioUrl("cut")}/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: "Bearer test" },
    body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "cut me" }] }),
    signal: AbortSignal.timeout(5000),
    provider: "openai",
    deploymentId: "cut",
    stream,
  });
}

describe("an upstream that cuts its stream after three events", () => {
  // Under load the consumer may start reading only after the cut has already reached the gateway.
  // The events that arrived before the cut must still be read, followed by the error (CI once lost
  // them: the body's error discarded its buffer, and the call failed as "connection failed").
  it("keeps the events that arrived before the cut, then reports the error", async () => {
    mock.scenario("cut", { disconnectAfterChunks: 3 });
    const response = await streamRequest(true);
    const [record] = await mock.waitForRequests(1);
    await record!.clientClosed; // the cut has happened before anyone reads
    await new Promise((resolve) => setTimeout(resolve, 20)); // and its FIN has reached our socket
    const events: string[] = [];
    const error = await (async () => {
      for await (const event of readSse(response.body)) events.push(event.data);
    })().catch((caught: unknown) => caught);
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[0]!).object).toBe("chat.completion.chunk");
    expect((error as { code?: string }).code).toBe("UND_ERR_SOCKET");
  });
});
