import { describe, expect, it } from "vitest";
import { resolveConfig } from "../config/load-config";
import { addTelemetryCallbacks, telemetryCallbacks } from "./environment-telemetry";

describe("telemetryCallbacks", () => {
  it("names a callback for each exporter the environment configures", () => {
    expect(telemetryCallbacks({})).toEqual([]);
    expect(telemetryCallbacks({ LANGFUSE_PUBLIC_KEY: "pk" })).toEqual([]); // both keys are needed
    expect(
      telemetryCallbacks({
        LANGFUSE_PUBLIC_KEY: "pk",
        LANGFUSE_SECRET_KEY: "sk",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        MLFLOW_TRACKING_URI: "http://mlflow:5000",
      }),
    ).toEqual(["langfuse_otel", "otel", "mlflow"]);
    expect(telemetryCallbacks({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://x/v1/traces" })).toEqual([
      "otel",
    ]);
  });

  it("adds only what the config does not already list", () => {
    const config = resolveConfig(
      {
        model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }],
        litellm_settings: { callbacks: ["langfuse"], failure_callback: ["otel"] },
      },
      { env: {}, warn: () => undefined },
    );
    const env = {
      LANGFUSE_PUBLIC_KEY: "pk",
      LANGFUSE_SECRET_KEY: "sk",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c",
    };
    expect(addTelemetryCallbacks(config, env)).toEqual([]);
    expect(addTelemetryCallbacks(config, { MLFLOW_TRACKING_URI: "http://mlflow" })).toEqual(["mlflow"]);
    expect(config.callbacks.all).toEqual(["langfuse", "mlflow"]);
  });
});
