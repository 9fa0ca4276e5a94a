/**
 * Where Bedrock requests go when the deployment names no api_base: LiteLLM's
 * AWS_BEDROCK_RUNTIME_ENDPOINT and the AWS SDKs' AWS_ENDPOINT_URL_BEDROCK_RUNTIME (VPC endpoints,
 * proxies, stand-ins), the deployment's own settings first. Real gateway, the openai client, the mock
 * provider speaking Bedrock (which checks every SigV4 signature).
 */
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../provider-test-support";

const CREDENTIALS = { accessKeyId: "AKIDENDPOINTTEST", secretAccessKey: "endpoint-secret" };
const VARIABLES = ["AWS_BEDROCK_RUNTIME_ENDPOINT", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] as const;
let mock: MockProvider;
let other: MockProvider;
let app: TestGateway | undefined;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  for (const name of VARIABLES) saved[name] = process.env[name];
  mock = await startMockProvider({ bedrockCredentials: CREDENTIALS });
  other = await startMockProvider({ bedrockCredentials: CREDENTIALS });
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  mock.clear();
  other.clear();
});

afterAll(async () => {
  await mock.close();
  await other.close();
});

async function ask(params: Record<string, unknown> = {}) {
  app = await startTestGateway({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: "bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0",
          aws_region_name: "us-west-2",
          aws_access_key_id: CREDENTIALS.accessKeyId,
          aws_secret_access_key: CREDENTIALS.secretAccessKey,
          ...params,
        },
      },
    ],
  });
  const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 });
  const completion = await client.chat.completions.create({
    model: "claude",
    messages: [{ role: "user", content: "which endpoint?" }],
  });
  return completion.choices[0]?.message.content ?? "";
}

describe("the Bedrock runtime endpoint from the environment", () => {
  it("AWS_BEDROCK_RUNTIME_ENDPOINT (LiteLLM's name) is used when the deployment names none", async () => {
    process.env.AWS_BEDROCK_RUNTIME_ENDPOINT = `${mock.url}/`;
    expect(await ask()).toMatch(/^Mock reply:/);
    expect(mock.requests.map((request) => request.path)).toEqual([
      "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
    ]);
  });

  it("AWS_ENDPOINT_URL_BEDROCK_RUNTIME (the AWS SDKs' name) works too", async () => {
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = mock.url;
    expect(await ask()).toMatch(/^Mock reply:/);
    expect(mock.requests).toHaveLength(1);
  });

  it("the deployment's api_base and aws_bedrock_runtime_endpoint win over the environment", async () => {
    process.env.AWS_BEDROCK_RUNTIME_ENDPOINT = other.url;
    expect(await ask({ aws_bedrock_runtime_endpoint: mock.url })).toMatch(/^Mock reply:/);
    await app?.close();
    expect(await ask({ api_base: mock.url })).toMatch(/^Mock reply:/);
    expect(mock.requests).toHaveLength(2);
    expect(other.requests).toHaveLength(0);
  });
});
