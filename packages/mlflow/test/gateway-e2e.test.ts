/**
 * End to end: the real gateway (@llmux/core) with `callbacks: [mlflow]` and `mlflow_log_runs: true`
 * (so it loads this package through createPlugin), the mock OpenAI provider from @llmux/testing as
 * upstream, and the mock MLflow tracking server. Real HTTP calls to /v1/chat/completions (plain and
 * streamed); then the call spans reached /v1/traces and each call became one run with its metrics.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGateway, createHandler, type Gateway } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectingLogger } from "./helpers";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";
import { decodeOtlpSpans } from "./otlp-decode";

let mlflow: MockMlflowServer;
let provider: MockProvider;
let gateway: Gateway;
let server: Server;
let base = "";

beforeAll(async () => {
  mlflow = await startMockMlflow();
  provider = await startMockProvider();
  gateway = createGateway({
    config: {
      model_list: [
        {
          model_name: "gpt-4o",
          litellm_params: {
            model: "openai/gpt-4o",
            api_key: "sk-upstream-secret",
            api_base: `${provider.url}/v1`,
          },
          model_info: { id: "gpt4o-mock" },
        },
      ],
      router_settings: { num_retries: 0 },
      litellm_settings: { callbacks: ["mlflow"], mlflow_log_runs: true },
    },
    env: { MLFLOW_TRACKING_URI: mlflow.url, MLFLOW_EXPERIMENT_NAME: "gateway-e2e" },
    logger: collectingLogger(),
    quietOpenWarning: true,
  });
  await gateway.ready;
  const handle = createHandler(gateway);
  server = createServer((request, response) => {
    void handle(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await gateway?.shutdown();
  await provider?.close();
  await mlflow?.close();
});

describe("gateway with callbacks: [mlflow]", () => {
  it("traces and logs runs for a plain and a streamed chat call", async () => {
    // sent: a plain chat call for user alice; came back: 200 with the mock's answer and a call id
    const plain = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o",
        user: "alice",
        messages: [{ role: "user", content: "hello there" }],
      }),
    });
    expect(plain.status).toBe(200);
    await plain.json();
    const plainCallId = plain.headers.get("x-llmux-call-id");
    // sent: a streamed call; came back: SSE chunks ending with [DONE]
    const streamed = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "stream please" }],
      }),
    });
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toContain("[DONE]");
    const streamedCallId = streamed.headers.get("x-llmux-call-id");

    // the gateway's flush drains the callback queues, the span processor and both MLflow writers
    await gateway.flush();

    expect([...mlflow.experiments.keys()]).toEqual(["gateway-e2e"]);
    const spans = mlflow.requestsTo("/v1/traces").flatMap((request) => decodeOtlpSpans(request.body));
    const callSpans = spans.filter((span) => span.attributes["llmux.call_id"] !== undefined);
    expect(callSpans.map((span) => span.attributes["llmux.call_id"]).sort()).toEqual(
      [plainCallId, streamedCallId].sort(),
    );
    for (const span of callSpans) {
      expect(span.name).toBe("chat gpt-4o");
      expect(span.attributes["mlflow.spanType"]).toBe("CHAT_MODEL");
      expect(JSON.parse(String(span.attributes["mlflow.chat.tokenUsage"])).total_tokens).toBeGreaterThan(0);
      // each call span has its attempt span as a child
      expect(spans.some((child) => child.parentSpanId === span.spanId)).toBe(true);
    }
    expect(mlflow.requestsTo("/v1/traces")[0]?.headers["x-mlflow-experiment-id"]).toBe("100");

    const runs = [...mlflow.runs.values()];
    expect(runs.map((run) => run.tags.request_id).sort()).toEqual([plainCallId, streamedCallId].sort());
    const plainRun = runs.find((run) => run.tags.request_id === plainCallId)!;
    expect(plainRun.status).toBe("FINISHED");
    expect(plainRun.tags).toMatchObject({
      status: "success",
      user_id: "alice",
      model_group: "gpt-4o",
      provider: "openai",
    });
    const metricKeys = plainRun.metrics.map((metric) => metric.key);
    expect(metricKeys).toEqual(
      expect.arrayContaining(["latency_ms", "prompt_tokens", "completion_tokens", "total_tokens"]),
    );
    const streamedRun = runs.find((run) => run.tags.request_id === streamedCallId)!;
    expect(streamedRun.tags.stream).toBe("true");
    expect(streamedRun.metrics.map((metric) => metric.key)).toContain("ttft_ms");
    // the upstream key never reached MLflow
    const everything = mlflow.requests.map((request) => request.body.toString("latin1")).join("\n");
    expect(everything).not.toContain("sk-upstream-secret");
  });
});
