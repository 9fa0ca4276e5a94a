import { afterEach, describe, expect, it } from "vitest";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";
import { decodeOtlpSpans } from "./otlp-decode";

let server: MockMlflowServer | undefined;
const saved = { ...process.env };
afterEach(async () => {
  process.env = { ...saved };
  await server?.close();
  server = undefined;
});

describe("README example (examples/trace-to-mlflow.mjs)", () => {
  it("creates the experiment and delivers its span over OTLP", async () => {
    server = await startMockMlflow();
    process.env.MLFLOW_TRACKING_URI = server.url;
    process.env.MLFLOW_EXPERIMENT_NAME = "readme-example";
    delete process.env.MLFLOW_TRACKING_TOKEN;
    delete process.env.MLFLOW_EXPERIMENT_ID;
    // a URL string: the example is plain JavaScript without type declarations
    const example = new URL("../examples/trace-to-mlflow.mjs", import.meta.url).href;
    await import(example);
    expect([...server.experiments.keys()]).toEqual(["readme-example"]);
    const spans = server.requestsTo("/v1/traces").flatMap((request) => decodeOtlpSpans(request.body));
    expect(spans.map((span) => span.name)).toEqual(["chat gpt-4o"]);
    expect(server.requestsTo("/v1/traces")[0]?.headers["x-mlflow-experiment-id"]).toBe("100");
  });
});
