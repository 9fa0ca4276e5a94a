/**
 * Finding llmux's traces in MLflow the way MLflow users search: the real gateway with
 * `callbacks: [mlflow]`, the mock OpenAI provider upstream, and the mock MLflow server, which
 * stores traces as MLflow 3.11 does (see its header: span ingestion keeps user and session
 * JSON-quoted and sets no tags, client_request_id or name; StartTraceV3 merges). In both export
 * modes a call must be found by user and session (`metadata.mlflow.trace.user = 'alice'`), by its
 * request tags, by its call id (client_request_id) and by its trace name.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGateway, createHandler, type Gateway } from "@llmux/core";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectingLogger } from "./helpers";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";
import { decodeOtlpSpans } from "./otlp-decode";

let provider: MockProvider;

beforeAll(async () => {
  provider = await startMockProvider();
});

afterAll(async () => {
  await provider?.close();
});

interface Harness {
  mlflow: MockMlflowServer;
  gateway: Gateway;
  base: string;
  close(): Promise<void>;
}

async function start(mode: "otlp" | "rest"): Promise<Harness> {
  const mlflow = await startMockMlflow();
  const gateway = createGateway({
    config: {
      model_list: [
        {
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_key: "sk-upstream", api_base: `${provider.url}/v1` },
        },
      ],
      router_settings: { num_retries: 0 },
      litellm_settings: { callbacks: ["mlflow"], mlflow_export_mode: mode },
    },
    env: { MLFLOW_TRACKING_URI: mlflow.url, MLFLOW_EXPERIMENT_NAME: `search-${mode}` },
    logger: collectingLogger(),
    quietOpenWarning: true,
  });
  await gateway.ready;
  const handle = createHandler(gateway);
  const server: Server = createServer((request, response) => {
    void handle(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    mlflow,
    gateway,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await gateway.shutdown();
      await mlflow.close();
    },
  };
}

async function chat(base: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hello" }], ...body }),
  });
  expect(response.status).toBe(200);
  await response.text();
  return String(response.headers.get("x-llmux-call-id"));
}

for (const mode of ["otlp", "rest"] as const) {
  describe(`MLflow trace search, ${mode} mode`, () => {
    let harness: Harness;
    let tagged: string;
    let plain: string;

    beforeAll(async () => {
      harness = await start(mode);
      tagged = await chat(
        harness.base,
        { user: "alice", metadata: { session_id: "s-1", trace_name: "support-bot", tags: ["beta"] } },
        { "x-llmux-tags": "checkout" },
      );
      plain = await chat(harness.base, { user: "bob" });
      await harness.gateway.flush();
    });

    afterAll(async () => {
      await harness?.close();
    });

    function traceIdOf(callId: string): string {
      if (mode === "rest") {
        const found = [...harness.mlflow.traces.values()].find(
          (trace) => trace.info.client_request_id === callId,
        );
        return String(found?.info.trace_id);
      }
      const span = harness.mlflow
        .requestsTo("/v1/traces")
        .flatMap((request) => decodeOtlpSpans(request.body))
        .find((candidate) => candidate.attributes["llmux.call_id"] === callId);
      return `tr-${span?.traceId}`;
    }

    it("user and session are stored unquoted: metadata.mlflow.trace.user = 'alice' finds the call (item 13)", () => {
      const id = traceIdOf(tagged);
      console.log(
        `[mlflow ${mode}] trace ${id} metadata ${JSON.stringify(harness.mlflow.traces.get(id)?.info.trace_metadata)}`,
      );
      expect(harness.mlflow.searchTraces("metadata.mlflow.trace.user = 'alice'")).toEqual([id]);
      expect(harness.mlflow.searchTraces("metadata.`mlflow.trace.session` = 's-1'")).toEqual([id]);
      expect(harness.mlflow.searchTraces("metadata.`mlflow.trace.user` = 'bob'")).toEqual([traceIdOf(plain)]);
    });

    it("request tags, the call id and the trace name are searchable on the trace (item 14)", () => {
      const id = traceIdOf(tagged);
      console.log(
        `[mlflow ${mode}] trace ${id} tags ${JSON.stringify(harness.mlflow.traces.get(id)?.info.tags)}`,
      );
      expect(harness.mlflow.searchTraces("tags.checkout = ''")).toEqual([id]);
      expect(harness.mlflow.searchTraces("tags.beta = ''")).toEqual([id]);
      expect(harness.mlflow.searchTraces(`trace.client_request_id = '${tagged}'`)).toEqual([id]);
      expect(harness.mlflow.searchTraces("trace.name = 'support-bot'")).toEqual([id]);
      // without trace_name the trace is named after its call span
      expect(
        harness.mlflow.searchTraces(`trace.client_request_id = '${plain}' AND trace.name = 'chat gpt-4o'`),
      ).toEqual([traceIdOf(plain)]);
      const tags = harness.mlflow.traces.get(id)?.info.tags as Record<string, string>;
      expect(tags["llmux.tags"]?.split(",").sort()).toEqual(["beta", "checkout"]);
    });
  });
}
