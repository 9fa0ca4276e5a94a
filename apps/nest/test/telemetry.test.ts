/**
 * Telemetry from the environment: the reference app exporting its call spans
 * to an OTLP endpoint and to Langfuse (both played by the @llmux/testing OTLP receiver on port 0).
 */
import { addTelemetryCallbacks, resolveConfig } from "@llmux/core";
import { type MockProvider, type OtlpReceiver, startMockProvider, startOtlpReceiver } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReferenceApp } from "../src/app";

describe.each(["express", "fastify"] as const)(
  "the NestJS reference app on %s with OTLP and Langfuse named by the environment",
  (platform) => {
    let mock: MockProvider;
    let receiver: OtlpReceiver;
    let app: Awaited<ReturnType<typeof startReferenceApp>>;

    beforeAll(async () => {
      mock = await startMockProvider();
      receiver = await startOtlpReceiver();
      const env = {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
        LANGFUSE_PUBLIC_KEY: "pk-lf-test",
        LANGFUSE_SECRET_KEY: "sk-lf-test",
        LANGFUSE_BASE_URL: receiver.url,
      };
      const config = resolveConfig(
        {
          model_list: [
            { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_base: `${mock.url}/v1` } },
          ],
        },
        { env, warn: () => undefined },
      );
      expect(addTelemetryCallbacks(config, env)).toEqual(["langfuse_otel", "otel"]);
      app = await startReferenceApp({
        config,
        env,
        summaryModel: "gpt-4o",
        quietOpenWarning: true,
        platform,
      });
    });

    afterAll(async () => {
      await app?.close();
      await receiver?.close();
      await mock?.close();
    });

    it("a /v1 call and an in-process call each export a `chat gpt-4o` span to both endpoints", async () => {
      const completion = await fetch(`${app.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(completion.status).toBe(200);
      const summary = await fetch(`${app.url}/api/summarize`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "spans for everyone" }),
      });
      expect(summary.status).toBe(200);
      await app.gateway.flush();
      await receiver.waitForSpans(4, 10_000);
      const callSpans = receiver.spans.filter((span) => span.name === "chat gpt-4o");
      const paths = callSpans.map((span) => span.path).sort();
      expect(paths).toEqual([
        "/api/public/otel/v1/traces",
        "/api/public/otel/v1/traces",
        "/v1/traces",
        "/v1/traces",
      ]);
      for (const span of callSpans) expect(span.attributes["gen_ai.operation.name"]).toBe("chat");
      const langfuse = receiver.requests.find((request) => request.path === "/api/public/otel/v1/traces");
      expect(langfuse!.headers.authorization).toBe(
        `Basic ${Buffer.from("pk-lf-test:sk-lf-test").toString("base64")}`,
      );
    });
  },
);
