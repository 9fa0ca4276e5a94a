/**
 * The seed configs in examples/ (LiteLLM set-ups rebuilt from /work/shared/seeds), each checked with
 * `llmux check --strict`, started with the built `llmux` command unchanged and called with the official
 * clients. Every outside endpoint is a stand-in on 127.0.0.1: Bedrock is the @llmux/testing mock provider
 * (it verifies each SigV4 signature), Langfuse is the OTLP receiver, SageMaker MLflow is the mlflow
 * package's mock tracking server (SigV4-verified too), the ECS task role is the container-credentials
 * stand-in. The configs reach the stand-ins through the environment only (AWS_BEDROCK_RUNTIME_ENDPOINT,
 * LANGFUSE_HOST, SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT, AWS_CONTAINER_CREDENTIALS_FULL_URI), as a deployment
 * would point them at VPC endpoints.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import {
  type AwsStandIn,
  type MockProvider,
  type OtlpReceiver,
  startContainerCredentialsServer,
  startMockProvider,
  startOtlpReceiver,
} from "@llmux/testing";
import OpenAI from "openai";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MockMlflowServer, startMockMlflow } from "../../mlflow/test/mock-mlflow-server";
import { ensureBuilt, repositoryRoot } from "./build-once";
import { type RunningCli, runCli, runToExit } from "./run-cli";

const example = (name: string) => join(repositoryRoot, "examples", name, "litellm_config.yaml");
const MASTER_KEY = "sk-example-master-key";
const KEYS = { accessKeyId: "AKIAEXAMPLEKEYS", secretAccessKey: "example-secret-access-key" };

let empty: string;
const running: Array<{ stop(): Promise<unknown> }> = [];
let cli: RunningCli | undefined;

beforeAll(() => {
  ensureBuilt();
  empty = mkdtempSync(join(tmpdir(), "llmux-examples-"));
}, 600_000);

afterEach(async () => {
  await cli?.stop();
  cli = undefined;
  for (const item of running.splice(0).reverse()) await item.stop();
});

/** The child's AWS chain sees only what a test gives it: no ~/.aws, no instance metadata, no stray keys. */
function isolatedAws(extra: Record<string, string>): Record<string, string | undefined> {
  return {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_REGION_NAME: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_ROLE_ARN: undefined,
    AWS_CONFIG_FILE: join(empty, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(empty, "no-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    LANGFUSE_PUBLIC_KEY: undefined,
    LANGFUSE_SECRET_KEY: undefined,
    LANGFUSE_HOST: undefined,
    LANGFUSE_BASE_URL: undefined,
    OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
    MLFLOW_TRACKING_URI: undefined,
    LITELLM_MASTER_KEY: MASTER_KEY,
    ...extra,
  };
}

async function mockBedrock(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}) {
  const mock = await startMockProvider({ bedrockCredentials: credentials });
  running.push({ stop: () => mock.close() });
  return mock;
}

/** `llmux check --strict` accepts the example with this environment, then the command serves it. */
async function checkAndServe(name: string, env: Record<string, string | undefined>) {
  const check = await runToExit(["check", "--strict", "--config", example(name)], env);
  expect(check.stdout + check.stderr).toMatch(
    /0 errors, 0 warnings, \d+ deployments in \d+ model groups - ok/,
  );
  expect(check.code).toBe(0);
  cli = runCli(["--config", example(name), "--port", "0", "--host", "127.0.0.1"], env);
  return cli.url;
}

const modelPath = (request: { path: string }) => decodeURIComponent(request.path.split("/")[2] ?? "");

describe("examples/bedrock-langfuse: Bedrock Claude with fallbacks, Langfuse and Prometheus", () => {
  let mock: MockProvider;
  let langfuse: OtlpReceiver;

  it("falls back from a failing Sonnet 4.5 to Sonnet 3.7, streams Haiku, and traces every call to Langfuse", async () => {
    mock = await mockBedrock(KEYS);
    // Bedrock answers 503 for the primary model (every attempt), normally for the others.
    mock.scenario("bedrock", (request) =>
      modelPath(request).includes("claude-sonnet-4-5") ? { status: 503 } : undefined,
    );
    langfuse = await startOtlpReceiver();
    running.push({ stop: () => langfuse.close() });
    const url = await checkAndServe(
      "bedrock-langfuse",
      isolatedAws({
        AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
        AWS_BEDROCK_RUNTIME_ENDPOINT: mock.scenarioUrl("bedrock"),
        LANGFUSE_HOST: langfuse.url,
        LANGFUSE_PUBLIC_KEY: "pk-lf-example",
        LANGFUSE_SECRET_KEY: "sk-lf-example-secret",
      }),
    );
    const summary = cli!.stdout();
    expect(summary).toContain("model groups (3):");
    expect(summary).toContain(
      "claude-sonnet-4-5: 1 deployment (bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0); fallbacks: claude-3-7-sonnet, claude-3-5-haiku",
    );
    expect(summary).toMatch(/callbacks: .*prometheus/);
    expect(summary).toMatch(/callbacks: .*langfuse/);
    expect(summary).toContain("auth: master key");

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    // Sent: claude-sonnet-4-5, whose deployment answers 503; came back: Sonnet 3.7's answer, one fallback.
    const { data: completion, response } = await client.chat.completions
      .create({
        model: "claude-sonnet-4-5",
        messages: [{ role: "user", content: "Say hello in Italian" }],
        user: "cline-user",
      })
      .withResponse();
    expect(completion.choices[0]?.message.content).toMatch(/^Mock reply:/);
    expect(response.headers.get("x-llmux-model-group")).toBe("claude-3-7-sonnet");
    expect(response.headers.get("x-llmux-fallbacks")).toBe("1");
    expect(Number(response.headers.get("x-llmux-response-cost"))).toBeGreaterThan(0);
    const primary = mock.requests.filter((request) => modelPath(request).includes("claude-sonnet-4-5"));
    expect(primary.length).toBe(3); // the first attempt and num_retries: 2
    expect(mock.requests.at(-1)?.path).toBe("/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse");

    const stream = await client.chat.completions.create({
      model: "claude-3-5-haiku",
      messages: [{ role: "user", content: "Count to 3" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toMatch(/^Mock reply:/);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(mock.requests.at(-1)?.path).toBe(
      "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream",
    );

    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/llmux_fallbacks_total\{[^}]*\} 1/);

    // SIGTERM flushes the exporters: every call is in Langfuse once the command has exited.
    expect(await cli!.stop()).toBe(0);
    const spans = langfuse.spans;
    const calls = spans.filter((span) => span.name.startsWith("chat "));
    expect(calls.map((span) => span.name).sort()).toEqual([
      "chat claude-3-5-haiku",
      "chat claude-sonnet-4-5",
    ]);
    const first = calls.find((span) => span.name === "chat claude-sonnet-4-5")!;
    expect(first.attributes["langfuse.observation.type"]).toBe("generation");
    expect(first.attributes["user.id"]).toBe("cline-user");
    expect(first.attributes["gen_ai.response.model"]).toContain("claude-3-7-sonnet");
    expect(String(first.attributes["langfuse.observation.cost_details"])).toContain("total");
    const requests = langfuse.requests.filter((request) => request.path === "/api/public/otel/v1/traces");
    expect(requests.length).toBeGreaterThan(0);
    const basic = `Basic ${Buffer.from("pk-lf-example:sk-lf-example-secret").toString("base64")}`;
    expect(requests.every((request) => request.headers.authorization === basic)).toBe(true);
    const exported = JSON.stringify(spans);
    for (const secret of [MASTER_KEY, KEYS.secretAccessKey, "sk-lf-example-secret"]) {
      expect(exported).not.toContain(secret);
      expect(cli!.stdout() + cli!.stderr()).not.toContain(secret);
    }
  }, 90_000);
});

describe("examples/sagemaker-mlflow: Bedrock and SageMaker MLflow with the ECS task role", () => {
  let mlflow: MockMlflowServer;
  let ecs: AwsStandIn;

  it("signs Bedrock and SageMaker MLflow with the task role's keys; traces and runs reach the experiment", async () => {
    const task = {
      accessKeyId: "ASIATASKROLEKEYS",
      secretAccessKey: "task-role-secret",
      sessionToken: "task-role-session-token",
    };
    ecs = await startContainerCredentialsServer({
      credentials: () => ({ ...task, expiration: new Date(Date.now() + 3_600_000) }),
    });
    running.push({ stop: () => ecs.close() });
    const mock = await mockBedrock(task);
    mlflow = await startMockMlflow({ sigv4: { ...task, region: "us-east-1" } });
    running.push({ stop: () => mlflow.close() });
    const arn = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/mlflow-tracking-server";
    const url = await checkAndServe(
      "sagemaker-mlflow",
      isolatedAws({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/v2/credentials/task`,
        AWS_REGION_NAME: "us-east-1",
        AWS_BEDROCK_RUNTIME_ENDPOINT: mock.url,
        MLFLOW_TRACKING_URI: arn,
        MLFLOW_EXPERIMENT_NAME: "/litellm-monitoring",
        SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: mlflow.url,
      }),
    );
    expect(cli!.stdout()).toMatch(/callbacks: .*mlflow/);

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    for (const [index, model] of ["claude-3-7-sonnet", "claude-3-5-haiku"].entries()) {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: `MLflow call ${index}` }],
        user: "user-123",
        metadata: { team_id: "team-a" },
      });
      expect(completion.choices[0]?.message.content).toMatch(/^Mock reply:/);
    }
    // Bedrock saw the task role's keys and session token.
    for (const request of mock.requests) {
      expect(String(request.headers.authorization)).toContain(`Credential=${task.accessKeyId}/`);
      expect(request.headers["x-amz-security-token"]).toBe(task.sessionToken);
    }
    expect(await cli!.stop()).toBe(0);

    // Every request to the tracking server was SigV4-signed (sagemaker-mlflow) with the task role.
    expect(mlflow.requests.length).toBeGreaterThan(0);
    for (const request of mlflow.requests) {
      expect(request.signature).toEqual({ valid: true, service: "sagemaker-mlflow" });
      expect(request.headers["x-mlflow-sm-tracking-server-arn"]).toBe(arn);
    }
    expect(ecs.requests.length).toBeGreaterThan(0);
    const experimentId = mlflow.experiments.get("/litellm-monitoring")?.id;
    expect(experimentId).toBeDefined();
    const traces = mlflow.requestsTo("/v1/traces");
    expect(traces.length).toBeGreaterThan(0);
    expect(traces.every((request) => request.headers["x-mlflow-experiment-id"] === experimentId)).toBe(true);
    // mlflow_log_runs: one run per call with the seed's metrics and tags.
    const runs = [...mlflow.runs.values()];
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run.experimentId).toBe(experimentId);
      const keys = new Set(run.metrics.map((metric) => metric.key));
      for (const key of ["latency_ms", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd"]) {
        expect(keys).toContain(key);
      }
      expect(run.tags.status).toBe("success");
      expect(run.tags.user_id).toBe("user-123");
    }
    expect(runs.map((run) => run.tags.model).sort()).toEqual([
      "us.anthropic.claude-3-5-haiku-20241022-v1:0",
      "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    ]);
  }, 90_000);
});

describe("examples/claude-code: Claude Code on /v1/messages with a master key", () => {
  it("serves the Anthropic SDK (bearer and x-api-key) with tools, thinking and streaming; refuses a missing key", async () => {
    const mock = await mockBedrock(KEYS);
    const url = await checkAndServe(
      "claude-code",
      isolatedAws({
        AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
        AWS_BEDROCK_RUNTIME_ENDPOINT: mock.url,
      }),
    );
    // ANTHROPIC_AUTH_TOKEN (Authorization: Bearer), as Claude Code sends it.
    const claude = new Anthropic({ baseURL: url, authToken: MASTER_KEY, apiKey: null, maxRetries: 0 });
    const message = await claude.messages.create({
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 1024,
      tools: [
        {
          name: "read_file",
          description: "Read a file",
          input_schema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
        },
      ],
      messages: [{ role: "user", content: "What is in README.md?" }],
    });
    expect(message.type).toBe("message");
    expect(message.content[0]?.type).toBe("text");
    const invoke = mock.requests.at(-1)!;
    expect(invoke.path).toBe("/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke");
    expect(invoke.body.anthropic_version).toBe("bedrock-2023-05-31");
    expect(invoke.body.tools[0].name).toBe("read_file");

    // ANTHROPIC_API_KEY (x-api-key), streamed, with extended thinking, on the small fast model.
    const keyed = new Anthropic({ baseURL: url, apiKey: MASTER_KEY, maxRetries: 0 });
    const stream = keyed.messages.stream({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: "Summarise this session in five words" }],
    });
    let text = "";
    stream.on("text", (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    expect(text.length).toBeGreaterThan(0);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    const streamed = mock.requests.at(-1)!;
    expect(streamed.path).toBe(
      "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke-with-response-stream",
    );
    expect(streamed.body.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });

    const counted = await claude.messages.countTokens({
      model: "claude-sonnet-4-5-20250929",
      messages: [{ role: "user", content: "How many tokens is this?" }],
    });
    expect(counted.input_tokens).toBeGreaterThan(0);

    // No key: Anthropic's error shape with 401.
    const anonymous = await fetch(`${url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: "claude-sonnet-4-5-20250929",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    expect(anonymous.status).toBe(401);
    const body = (await anonymous.json()) as { type: string; error: { type: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("authentication_error");
  }, 90_000);
});
