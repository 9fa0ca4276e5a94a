import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startContainerCredentialsServer, startStsServer } from "@llmux/testing";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { type MlflowSpanExporter, mlflowExporter, resolveExperiment } from "../src/index";
import { parseSageMakerArn, resolveTrackingTarget } from "../src/tracking-uri";
import { collectingLogger } from "./helpers";
import { makeCallSpans } from "./make-spans";
import { type MockMlflowServer, startMockMlflow } from "./mock-mlflow-server";
import { decodeOtlpSpans } from "./otlp-decode";

const ARN = "arn:aws:sagemaker:us-west-2:123456789012:mlflow-tracking-server/llmux-server";
const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "session-token-example",
};
const awsEnv = (server: MockMlflowServer, extra: Record<string, string> = {}) => ({
  SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: server.url,
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
  ...extra,
});

const TASK = { secretAccessKey: "task-secret", sessionToken: "task-session-token" };
const AWS_CHAIN_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
];
let isolation:
  | { saved: Record<string, string | undefined>; cleanups: Array<() => Promise<void>> }
  | undefined;

/** Points every source of the AWS SDK's chain (it reads process.env) at nothing; undone after the test. */
function isolateAwsChain() {
  const saved: Record<string, string | undefined> = {};
  for (const name of AWS_CHAIN_VARIABLES) {
    saved[name] = process.env[name];
    delete process.env[name];
  }
  const directory = mkdtempSync(join(tmpdir(), "llmux-mlflow-aws-"));
  process.env.AWS_CONFIG_FILE = join(directory, "none");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(directory, "none");
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:9";
  isolation = { saved, cleanups: [] };
  return isolation;
}

let server: MockMlflowServer | undefined;
let exporter: MlflowSpanExporter | undefined;
afterEach(async () => {
  if (isolation) {
    for (const cleanup of isolation.cleanups) await cleanup();
    for (const [name, value] of Object.entries(isolation.saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    isolation = undefined;
  }
  await exporter?.shutdown();
  await server?.close();
  server = undefined;
  exporter = undefined;
});

function exportNow(target: MlflowSpanExporter, spans: ReadableSpan[]): Promise<number> {
  return new Promise((resolve) => target.export(spans, (result) => resolve(result.code)));
}

describe("SageMaker tracking server ARNs", () => {
  it("maps the ARN to https://{region}.experiments.sagemaker.aws like the sagemaker-mlflow plugin", () => {
    expect(resolveTrackingTarget(ARN, {})).toEqual({
      baseUrl: "https://us-west-2.experiments.sagemaker.aws",
      sagemaker: {
        arn: ARN,
        partition: "aws",
        region: "us-west-2",
        account: "123456789012",
        resourceType: "mlflow-tracking-server",
        resourceName: "llmux-server",
      },
    });
    expect(
      resolveTrackingTarget("arn:aws-us-gov:sagemaker:us-gov-west-1:1:mlflow-tracking-server/x", {}).baseUrl,
    ).toBe("https://us-gov-west-1.experiments.sagemaker.aws");
    expect(
      resolveTrackingTarget(ARN, { SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: "https://vpce.example/" }).baseUrl,
    ).toBe("https://vpce.example");
    expect(parseSageMakerArn(`${ARN}#arn:aws:iam::123456789012:role/other`).assumeRoleArn).toBe(
      "arn:aws:iam::123456789012:role/other",
    );
  });

  it("refuses ARNs of other services and partitions", () => {
    expect(() => parseSageMakerArn("arn:aws:s3:::bucket/key")).toThrow(/not a SageMaker MLflow ARN/);
    expect(() => parseSageMakerArn("arn:aws-cn:sagemaker:cn-north-1:1:mlflow-tracking-server/x")).toThrow(
      /partition/,
    );
    expect(() => parseSageMakerArn("arn:aws:sagemaker:us-east-1:1:mlflow-tracking-server")).toThrow();
  });

  it("signs REST calls with SigV4 (service sagemaker-mlflow) and sends the ARN header; the server verifies them", async () => {
    server = await startMockMlflow({ sigv4: { ...CREDENTIALS, region: "us-west-2" } });
    // sent: signed get-by-name for "/litellm monitoring" (slash and space in the query), then signed create
    const id = await resolveExperiment({
      trackingUri: ARN,
      experimentName: "/litellm monitoring",
      env: awsEnv(server, { MLFLOW_TRACKING_TOKEN: "not-for-sagemaker" }),
    });
    expect(id).toBe("100");
    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) {
      expect(request.signature).toEqual({ valid: true, service: "sagemaker-mlflow" });
      expect(request.headers["x-mlflow-sm-tracking-server-arn"]).toBe(ARN);
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/sagemaker-mlflow\/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-content-sha256[^,]*x-mlflow-sm-tracking-server-arn/,
      );
      expect(request.headers["x-amz-security-token"]).toBe(CREDENTIALS.sessionToken);
    }
    expect(server.requests[0]?.query).toEqual({ experiment_name: "/litellm monitoring" });
  });

  it("a wrong secret key fails the server's verification: 403, reported as kind http", async () => {
    server = await startMockMlflow({ sigv4: { ...CREDENTIALS, region: "us-west-2" } });
    const error = await resolveExperiment({
      trackingUri: ARN,
      experimentName: "llmux",
      env: awsEnv(server, { AWS_SECRET_ACCESS_KEY: "wrong-secret-value" }),
    }).catch((e) => e);
    expect(error.kind).toBe("http");
    expect(error.status).toBe(403);
    expect(server.requests[0]?.signature?.valid).toBe(false);
    expect(error.message).not.toContain("wrong-secret-value");
  });

  it("without AWS credentials anywhere: a config error naming the chain tried, not a hang", async () => {
    isolateAwsChain();
    const error = await resolveExperiment({
      trackingUri: ARN,
      experimentName: "llmux",
      env: { SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: "http://127.0.0.1:9" },
    }).catch((e) => e);
    expect(error.kind).toBe("config");
    expect(error.message).toContain("AWS_ACCESS_KEY_ID");
    expect(error.message).toContain("tried the AWS default chain");
    expect(error.message).toContain("EC2 instance metadata");
  });

  it("takes credentials from the ECS container-credentials endpoint (the default chain)", async () => {
    const isolation = isolateAwsChain();
    const first = { ...TASK, accessKeyId: "ASIATASKONE", expiration: new Date(Date.now() + 60 * 60_000) };
    const ecs = await startContainerCredentialsServer({ credentials: () => first });
    isolation.cleanups.push(() => ecs.close());
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${ecs.url}/creds`;
    server = await startMockMlflow({
      experiments: { llmux: "5" },
      sigv4: { ...first, region: "us-west-2" },
    });
    const id = await resolveExperiment({
      trackingUri: ARN,
      experimentName: "llmux",
      env: { SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: server.url },
    });
    expect(id).toBe("5");
    expect(server.requests[0]?.signature?.valid).toBe(true);
    expect(server.requests[0]?.headers["x-amz-security-token"]).toBe(TASK.sessionToken);
    expect(ecs.requests).toHaveLength(1);
  });

  it("a #role suffix assumes the role through STS (AWS_ENDPOINT_URL_STS), signed by the caller's keys", async () => {
    const isolation = isolateAwsChain();
    const assumed = { ...TASK, accessKeyId: "ASIAASSUMEDROLE", expiration: new Date(Date.now() + 3_600_000) };
    const sts = await startStsServer({
      callers: [{ accessKeyId: "AKIDCALLER", secretAccessKey: "caller-secret" }],
      credentials: () => assumed,
    });
    isolation.cleanups.push(() => sts.close());
    server = await startMockMlflow({
      experiments: { llmux: "8" },
      sigv4: { ...assumed, region: "us-west-2" },
    });
    const id = await resolveExperiment({
      trackingUri: `${ARN}#arn:aws:iam::123456789012:role/other`,
      experimentName: "llmux",
      env: {
        SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: server.url,
        AWS_ACCESS_KEY_ID: "AKIDCALLER",
        AWS_SECRET_ACCESS_KEY: "caller-secret",
        AWS_ENDPOINT_URL_STS: sts.url,
      },
    });
    expect(id).toBe("8");
    expect(new URLSearchParams(sts.requests[0]?.body).get("RoleArn")).toBe(
      "arn:aws:iam::123456789012:role/other",
    );
    expect(server.requests[0]?.signature?.valid).toBe(true);
  });

  it("takes credentials from a provider (instance roles etc. through @aws-sdk/credential-providers)", async () => {
    server = await startMockMlflow({
      experiments: { llmux: "3" },
      sigv4: { accessKeyId: "AKIDPROVIDER", secretAccessKey: "provider-secret", region: "us-west-2" },
    });
    let calls = 0;
    const id = await resolveExperiment({
      trackingUri: ARN,
      experimentName: "llmux",
      env: { SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: server.url },
      aws: {
        credentials: async () => {
          calls++;
          return { accessKeyId: "AKIDPROVIDER", secretAccessKey: "provider-secret" };
        },
      },
    });
    expect(id).toBe("3");
    expect(calls).toBe(1);
    expect(server.requests[0]?.signature?.valid).toBe(true);
  });

  it("OTLP export to a SageMaker server with /v1/traces is signed over the protobuf body", async () => {
    server = await startMockMlflow({
      experiments: { llmux: "6" },
      sigv4: { ...CREDENTIALS, region: "us-west-2" },
    });
    exporter = mlflowExporter({ trackingUri: ARN, env: awsEnv(server), logger: collectingLogger() });
    await exportNow(exporter, makeCallSpans());
    await exporter.forceFlush();
    const otlp = server.requestsTo("/v1/traces")[0]!;
    expect(otlp.signature).toEqual({ valid: true, service: "sagemaker-mlflow" });
    expect(otlp.headers["x-mlflow-experiment-id"]).toBe("6");
    expect(otlp.headers["content-type"]).toBe("application/x-protobuf");
    expect(decodeOtlpSpans(otlp.body)).toHaveLength(2);
    expect(exporter.stats()).toMatchObject({ mode: "otlp", exportedSpans: 2 });
  });

  it("auto mode: 403 on /v1/traces → REST trace API; span data goes straight to the S3 artifact store, signed for s3", async () => {
    server = await startMockMlflow({
      experiments: { llmux: "6" },
      s3Bucket: "mlflow-artifacts-bucket",
      artifactLocation: (experimentId, traceId) =>
        `s3://mlflow-artifacts-bucket/${experimentId}/traces/${traceId}/artifacts`,
      sigv4: { ...CREDENTIALS, region: "us-west-2" },
      intercept: (request) =>
        request.path === "/v1/traces"
          ? { status: 403, body: JSON.stringify({ message: "Forbidden" }) } // what an unknown route may answer
          : undefined,
    });
    const logger = collectingLogger();
    exporter = mlflowExporter({
      trackingUri: ARN,
      env: awsEnv(server, { AWS_ENDPOINT_URL_S3: server.url }),
      logger,
    });
    const spans = makeCallSpans({ attempts: 1 });
    await exportNow(exporter, spans);
    await exporter.forceFlush();
    const traceId = `tr-${spans[0]!.spanContext().traceId}`;
    expect(
      server.requests.map((request) => `${request.method} ${request.path.replace(traceId, "tr-X")}`),
    ).toEqual([
      "GET /api/2.0/mlflow/experiments/get-by-name",
      "POST /v1/traces",
      "POST /api/3.0/mlflow/traces",
      "PUT /mlflow-artifacts-bucket/6/traces/tr-X/artifacts/traces.json",
    ]);
    const [lookup, , start, put] = server.requests;
    expect(lookup?.signature).toEqual({ valid: true, service: "sagemaker-mlflow" });
    expect(start?.signature).toEqual({ valid: true, service: "sagemaker-mlflow" });
    expect(put?.signature).toEqual({ valid: true, service: "s3" });
    expect(put?.headers["x-mlflow-sm-tracking-server-arn"]).toBeUndefined();
    const data = JSON.parse(server.artifacts.get(`6/traces/${traceId}/artifacts/traces.json`)!) as {
      spans: unknown[];
    };
    expect(data.spans).toHaveLength(2);
    expect(exporter.stats()).toMatchObject({ mode: "rest", exportedTraces: 1, droppedSpans: 0 });
    expect(logger.text()).toContain("REST trace API");
  });
});
