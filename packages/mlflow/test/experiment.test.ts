import { afterEach, describe, expect, it } from "vitest";
import { isMlflowError, resolveExperiment } from "../src/index";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";

let server: MockMlflowServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("resolveExperiment", () => {
  it("returns the id of an existing experiment from get-by-name without creating one", async () => {
    server = await startMockMlflow({ experiments: { llmux: "7" } });
    // sent: GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=llmux; came back: experiment 7
    const id = await resolveExperiment({ trackingUri: server.url, experimentName: "llmux", env: {} });
    expect(id).toBe("7");
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /api/2.0/mlflow/experiments/get-by-name",
    ]);
    expect(server.requests[0]?.query).toEqual({ experiment_name: "llmux" });
  });

  it("creates the experiment when get-by-name answers RESOURCE_DOES_NOT_EXIST", async () => {
    server = await startMockMlflow();
    // sent: get-by-name (404 RESOURCE_DOES_NOT_EXIST), then POST experiments/create {"name":"/litellm-monitoring"}
    const id = await resolveExperiment({
      trackingUri: `${server.url}/`,
      experimentName: "/litellm-monitoring",
      env: {},
    });
    expect(id).toBe("100");
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /api/2.0/mlflow/experiments/get-by-name",
      "POST /api/2.0/mlflow/experiments/create",
    ]);
    expect(server.requests[0]?.query).toEqual({ experiment_name: "/litellm-monitoring" });
    expect(server.requests[1]?.json).toEqual({ name: "/litellm-monitoring" });
    expect(server.requests[1]?.headers["content-type"]).toBe("application/json");
  });

  it("looks the experiment up again when another process created it first (RESOURCE_ALREADY_EXISTS)", async () => {
    let lookups = 0;
    server = await startMockMlflow({
      intercept: (request) => {
        if (request.path.endsWith("/get-by-name") && lookups++ === 0) {
          // the first lookup misses, then someone else creates it
          server?.experiments.set("raced", { id: "55", deleted: false });
          return {
            status: 404,
            body: JSON.stringify({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "nope" }),
          };
        }
        return undefined;
      },
    });
    const id = await resolveExperiment({ trackingUri: server.url, experimentName: "raced", env: {} });
    expect(id).toBe("55");
    expect(server.requests.map((request) => request.path.split("/").pop())).toEqual([
      "get-by-name",
      "create",
      "get-by-name",
    ]);
  });

  it("sends Bearer auth from MLFLOW_TRACKING_TOKEN, and Basic auth from USERNAME/PASSWORD", async () => {
    server = await startMockMlflow({ experiments: { llmux: "1" } });
    await resolveExperiment({
      trackingUri: server.url,
      experimentName: "llmux",
      env: {
        MLFLOW_TRACKING_TOKEN: "tok-123",
        MLFLOW_TRACKING_USERNAME: "ignored",
        MLFLOW_TRACKING_PASSWORD: "x",
      },
    });
    await resolveExperiment({
      trackingUri: server.url,
      experimentName: "llmux",
      env: { MLFLOW_TRACKING_USERNAME: "alice", MLFLOW_TRACKING_PASSWORD: "s3cret" },
    });
    await resolveExperiment({ trackingUri: server.url, experimentName: "llmux", env: {} });
    expect(server.requests[0]?.headers.authorization).toBe("Bearer tok-123");
    expect(server.requests[1]?.headers.authorization).toBe(
      `Basic ${Buffer.from("alice:s3cret").toString("base64")}`,
    );
    expect(server.requests[2]?.headers.authorization).toBeUndefined();
  });

  it("refuses a deleted experiment with kind experiment_deleted", async () => {
    server = await startMockMlflow({ deletedExperiments: { old: "9" } });
    const error = await resolveExperiment({ trackingUri: server.url, experimentName: "old", env: {} }).catch(
      (e) => e,
    );
    expect(isMlflowError(error)).toBe(true);
    expect(error.kind).toBe("experiment_deleted");
    expect(error.message).toContain("deleted");
  });

  it("turns an auth failure into kind http with MLflow's error code and no credentials in the message", async () => {
    server = await startMockMlflow({
      intercept: () => ({
        status: 401,
        body: JSON.stringify({ error_code: "UNAUTHENTICATED", message: "bad creds" }),
      }),
    });
    const error = await resolveExperiment({
      trackingUri: server.url,
      experimentName: "llmux",
      env: { MLFLOW_TRACKING_TOKEN: "super-secret-token" },
    }).catch((e) => e);
    expect(error.kind).toBe("http");
    expect(error.status).toBe(401);
    expect(error.errorCode).toBe("UNAUTHENTICATED");
    expect(error.message).not.toContain("super-secret-token");
  });

  it("reports a server that is down as kind network", async () => {
    server = await startMockMlflow();
    const url = server.url;
    await server.close();
    server = undefined;
    const error = await resolveExperiment({ trackingUri: url, experimentName: "llmux", env: {} }).catch(
      (e) => e,
    );
    expect(error.kind).toBe("network");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("refuses bad tracking URIs with kind config", async () => {
    const cases = ["file:///tmp/mlruns", "databricks", "http://user:pw@host:5000", "arn:aws:s3:::bucket"];
    for (const trackingUri of cases) {
      const error = await resolveExperiment({ trackingUri, experimentName: "x", env: {} }).catch((e) => e);
      expect(error.kind, trackingUri).toBe("config");
      expect(error.message).not.toContain("pw@");
    }
  });
});
