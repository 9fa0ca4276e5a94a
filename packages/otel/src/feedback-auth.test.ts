/**
 * POST /v1/feedback is authenticated like /v1/chat/completions (issue: it accepted calls with no key
 * or a wrong key and wrote Langfuse scores with the gateway's own credentials). The gateway loads
 * this package from `callbacks: [langfuse_otel]`, serves it with the core handler on a real
 * node:http server (port 0), and the OTLP receiver stands in for Langfuse and records scores.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGateway, createHandler, type Gateway } from "@llmux/core";
import { type OtlpReceiver, startOtlpReceiver } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetSharedTracing } from "./registry";

const MASTER_KEY = "sk-master-feedback-0123456789";
let receiver: OtlpReceiver;
let gateway: Gateway;
let server: Server;
let base = "";

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  gateway = createGateway({
    config: {
      model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }],
      general_settings: { master_key: MASTER_KEY },
      litellm_settings: { callbacks: ["langfuse_otel"] },
    },
    env: {
      LANGFUSE_BASE_URL: receiver.url,
      LANGFUSE_PUBLIC_KEY: "pk-lf-auth",
      LANGFUSE_SECRET_KEY: "sk-lf-auth",
    },
  });
  await gateway.ready;
  const handler = createHandler(gateway);
  server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await gateway?.shutdown();
  await resetSharedTracing();
  await receiver?.close();
});

const score = { trace_id: "0af7651916cd43dd8448eb211c80319c", name: "thumbs", value: true };

describe("POST /v1/feedback", () => {
  it("refuses a call without a key or with a wrong key, and writes no score", async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer sk-wrong" },
      { "x-api-key": `${MASTER_KEY}0` },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${base}/v1/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(score),
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    }
    expect(receiver.scores).toEqual([]);
  });

  it("accepts the master key and writes the score", async () => {
    const response = await fetch(`${base}/v1/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify(score),
    });
    expect(response.status).toBe(200);
    expect(receiver.scores).toHaveLength(1);
    expect(receiver.scores[0]?.body).toMatchObject({ traceId: score.trace_id, name: "thumbs", value: 1 });
  });
});
