/**
 * Bodies a hostile or broken client sends to the reference Express app (express.json() before the
 * gateway, the adapter's errorHandler after it): every failure comes back as OpenAI's error JSON
 * with a 4xx, never a 500 or Express's HTML page, and nothing reaches the upstream.
 */
import { request as httpRequest } from "node:http";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReferenceApp } from "../src/app";

const MASTER_KEY = "sk-master-hostile-0123456789";
let mock: MockProvider;
let app: Awaited<ReturnType<typeof startReferenceApp>>;

beforeAll(async () => {
  mock = await startMockProvider();
  app = await startReferenceApp({
    config: {
      model_list: [
        {
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1`, api_key: "sk-upstream" },
        },
      ],
      general_settings: { master_key: MASTER_KEY },
    },
    quietOpenWarning: true,
  });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

/** A raw POST (so the headers are exactly what is written here); resolves with status, type and body. */
function rawPost(headers: Record<string, string>, body: Buffer | string) {
  const url = new URL(`${app.url}/v1/chat/completions`);
  return new Promise<{ status: number; contentType: string; text: string }>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        method: "POST",
        headers: { authorization: `Bearer ${MASTER_KEY}`, ...headers },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers["content-type"] ?? "",
            text,
          }),
        );
      },
    );
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

describe("hostile bodies", () => {
  it("100 000 levels of nesting → 400 in OpenAI's shape (not a 500)", async () => {
    mock.clear();
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"metadata":{"x":${deep}}}`;
    const reply = await rawPost({ "content-type": "application/json" }, body);
    expect(reply.status).toBe(400);
    expect(reply.contentType).toContain("application/json");
    expect(JSON.parse(reply.text)).toMatchObject({ error: { type: "invalid_request_error" } });
    expect(mock.requests).toHaveLength(0);
  });

  it("a body that claims gzip but is not → 4xx OpenAI error JSON, not Express's HTML", async () => {
    const reply = await rawPost(
      { "content-type": "application/json", "content-encoding": "gzip" },
      Buffer.from("this is not gzip at all"),
    );
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(reply.contentType).toContain("application/json");
    expect(JSON.parse(reply.text)).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("an unsupported charset → 415 OpenAI error JSON", async () => {
    const reply = await rawPost(
      { "content-type": "application/json; charset=klingon" },
      '{"model":"gpt-4o","messages":[]}',
    );
    expect(reply.status).toBe(415);
    expect(reply.contentType).toContain("application/json");
    expect(JSON.parse(reply.text)).toMatchObject({ error: { code: "unsupported_charset" } });
  });
});
