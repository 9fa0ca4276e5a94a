import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockProvider } from "./mock-provider.js";
import type { MockProvider } from "./types.js";

let mock: MockProvider;

beforeAll(async () => {
  mock = await startMockProvider({ words: 5 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.clear());

const messages = [{ role: "user" as const, content: "scenario" }];

function clientFor(id: string): OpenAI {
  return new OpenAI({ apiKey: "sk-mock", baseURL: `${mock.scenarioUrl(id)}/v1`, maxRetries: 0 });
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

describe("scenarios", () => {
  it("consumes an array of faults in order, then answers normally; other deployments are unaffected", async () => {
    mock.scenario("east", [{ status: 500 }, { status: 429, retryAfterSeconds: 1 }]);
    const east = clientFor("east");
    const west = clientFor("west");
    const statuses = [];
    for (let index = 0; index < 3; index++) {
      statuses.push(await statusOf(east.chat.completions.create({ model: "m", messages })));
    }
    // Sent: three requests to /scenario/east. Came back: 500, 429, then a normal answer.
    expect(statuses).toEqual([500, 429, 200]);
    expect(await statusOf(west.chat.completions.create({ model: "m", messages }))).toBe(200);
    const recorded = await mock.waitForRequests(4);
    expect(recorded.map((request) => request.scenario)).toEqual(["east", "east", "east", "west"]);
    expect(recorded.every((request) => request.path === "/v1/chat/completions")).toBe(true);
    expect(recorded[0]!.fault).toEqual({ status: 500 });
    expect(recorded[2]!.fault).toBeUndefined();
  });

  it("applies a single fault to every request and a function per request", async () => {
    mock.scenario("down", { status: 503 });
    mock.scenario("picky", (request) => (request.body.model === "bad" ? { status: 404 } : undefined));
    expect(await statusOf(clientFor("down").chat.completions.create({ model: "m", messages }))).toBe(503);
    expect(await statusOf(clientFor("down").chat.completions.create({ model: "m", messages }))).toBe(503);
    expect(await statusOf(clientFor("picky").chat.completions.create({ model: "bad", messages }))).toBe(404);
    expect(await statusOf(clientFor("picky").chat.completions.create({ model: "good", messages }))).toBe(200);
  });

  it("a per-request fault wins over the scenario", async () => {
    mock.scenario("down", { status: 503 });
    const completion = clientFor("down").chat.completions.create(
      { model: "m", messages },
      { headers: { "x-mock-fault": JSON.stringify({ content: "override" }) } },
    );
    expect((await completion).choices[0]!.message.content).toBe("override");
  });

  it("clear() forgets scenarios and requests", async () => {
    mock.scenario("down", { status: 503 });
    await statusOf(clientFor("down").chat.completions.create({ model: "m", messages }));
    expect(mock.requests).toHaveLength(1);
    mock.clear();
    expect(mock.requests).toHaveLength(0);
    expect(await statusOf(clientFor("down").chat.completions.create({ model: "m", messages }))).toBe(200);
  });

  it("the words option sets the reply length", async () => {
    const completion = await clientFor("any").chat.completions.create({ model: "m", messages });
    expect(completion.choices[0]!.message.content!.split(" ")).toHaveLength(5);
    expect(completion.usage!.completion_tokens).toBe(5);
  });

  it("waitForRequests rejects after its timeout with the count received", async () => {
    await expect(mock.waitForRequests(1, 50)).rejects.toThrow(/received 0/);
  });
});

describe("lifecycle", () => {
  it("close() ends hanging requests and frees the port", async () => {
    const local = await startMockProvider();
    const pending = fetch(`${local.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "x-mock-fault": JSON.stringify({ hang: true }) },
      body: JSON.stringify({ model: "m", messages }),
    }).catch((caught: unknown) => caught);
    const [recorded] = await local.waitForRequests(1);
    await local.close();
    expect(await pending).toBeInstanceOf(Error);
    // The mock closed it, not the client.
    expect(await recorded!.clientClosed).toBe(false);
    const again = await startMockProvider({ port: local.port });
    expect(again.port).toBe(local.port);
    await again.close();
  });

  it("recordRequests: false keeps nothing (for long benchmark runs)", async () => {
    const local = await startMockProvider({ recordRequests: false });
    const response = await fetch(`${local.url}/v1/models`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expect(local.requests).toHaveLength(0);
    await local.close();
  });

  it("keeps connections alive across requests", async () => {
    const local = await startMockProvider();
    const first = await fetch(`${local.url}/v1/models`);
    await first.arrayBuffer();
    const second = await fetch(`${local.url}/v1/models`);
    await second.arrayBuffer();
    expect(first.headers.get("connection")).toBe("keep-alive");
    expect(local.requests.map((request) => request.path)).toEqual(["/v1/models", "/v1/models"]);
    await local.close();
  });
});
