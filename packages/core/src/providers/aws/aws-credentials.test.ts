/**
 * The AWS credential chain for Bedrock, end to end: the official openai SDK → the gateway (real HTTP)
 * → the @llmux/testing mock speaking Bedrock, which verifies every SigV4 signature (and session token)
 * against the keys the stand-ins served. Stand-ins on 127.0.0.1: the ECS container-credentials
 * endpoint, an IMDSv2 emulator, a shared credentials file with two profiles, STS AssumeRole. The AWS
 * SDK reads process.env, so each test sets the variables it needs and points every other source of
 * the chain at nothing (no real ~/.aws, no real instance metadata).
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AwsStandIn,
  type BedrockCredentials,
  type MockProvider,
  type ServedCredentials,
  startContainerCredentialsServer,
  startInstanceMetadataServer,
  startMockProvider,
  startSsoPortalServer,
  startStsServer,
} from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../provider-test-support";
import { cachedCredentials, clearAwsCredentialCache, REFRESH_AHEAD_MS } from "./aws-credentials";

const CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0";
const minutes = (count: number) => new Date(Date.now() + count * 60_000);
const served = (name: string, expiresInMinutes = 60): ServedCredentials => ({
  accessKeyId: `ASIA${name.toUpperCase()}`,
  secretAccessKey: `${name}-secret`,
  sessionToken: `${name}-session-token`,
  expiration: minutes(expiresInMinutes),
});
const asAccepted = (credentials: ServedCredentials) => ({
  accessKeyId: credentials.accessKeyId,
  secretAccessKey: credentials.secretAccessKey,
  sessionToken: credentials.sessionToken,
});

const AWS_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL_SSO",
];
const saved: Record<string, string | undefined> = {};
const savedHome = process.env.HOME;
let directory: string;
let deadPort: AwsStandIn;
const standIns: AwsStandIn[] = [];
let mock: MockProvider | undefined;
let app: TestGateway | undefined;

beforeAll(async () => {
  for (const name of AWS_VARIABLES) saved[name] = process.env[name];
  directory = mkdtempSync(join(tmpdir(), "llmux-aws-"));
  // A server that is closed at once: its port refuses connections (the "nothing there" endpoint).
  deadPort = await startContainerCredentialsServer({ credentials: () => served("dead") });
  await deadPort.close();
});

beforeEach(() => {
  clearAwsCredentialCache();
  for (const name of AWS_VARIABLES) delete process.env[name];
  process.env.AWS_CONFIG_FILE = join(directory, "no-config");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(directory, "no-credentials");
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = deadPort.url;
});

afterEach(async () => {
  if (savedHome === undefined) delete process.env.HOME;
  else process.env.HOME = savedHome;
  await app?.close();
  await mock?.close();
  for (const standIn of standIns.splice(0)) await standIn.close();
  app = undefined;
  mock = undefined;
});

afterAll(() => {
  for (const name of AWS_VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

async function gatewayFor(accepted: BedrockCredentials[], params: Record<string, unknown> = {}) {
  mock = await startMockProvider({ bedrockCredentials: accepted });
  app = await startTestGateway({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: `bedrock/${CLAUDE}`,
          api_base: mock.url,
          aws_region_name: "us-west-2",
          ...params,
        },
      },
    ],
  });
  return new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "unused", maxRetries: 0 });
}

async function ask(client: OpenAI, stream = false) {
  if (stream) {
    const chunks = await client.chat.completions.create({
      model: "claude",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of chunks) text += chunk.choices[0]?.delta?.content ?? "";
    return text;
  }
  const completion = await client.chat.completions.create({
    model: "claude",
    messages: [{ role: "user", content: "hello" }],
  });
  return completion.choices[0]?.message.content ?? "";
}

const signedWith = (request: { headers: Record<string, string | string[] | undefined> } | undefined) =>
  /Credential=([^/]+)\//.exec(String(request?.headers.authorization))?.[1];

describe("Bedrock credentials from the AWS default chain", () => {
  it("ECS container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI + token), refreshed before they expire", async () => {
    // First served: credentials that expire in 4 minutes (inside the 5-minute refresh margin); then rotated ones.
    const first = served("ecsone", 4);
    const second = served("ecstwo", 60);
    let current = first;
    const ecs = await startContainerCredentialsServer({
      credentials: () => current,
      authorizationToken: "ecs-auth-token",
    });
    standIns.push(ecs);
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${ecs.url}/v2/credentials/task`;
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "ecs-auth-token";
    const client = await gatewayFor([asAccepted(first), asAccepted(second)]);

    // Sent: a chat completion; came back: an answer, the request signed with the first served keys.
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect(signedWith(mock!.requests.at(-1))).toBe(first.accessKeyId);
    expect(mock!.requests.at(-1)?.headers["x-amz-security-token"]).toBe(first.sessionToken);

    // The endpoint rotates; the cached keys are within the refresh margin, so the next call reloads
    // before signing — and succeeds (no failed call in between), also streamed.
    current = second;
    expect((await ask(client, true)).length).toBeGreaterThan(0);
    expect(signedWith(mock!.requests.at(-1))).toBe(second.accessKeyId);
    const fetchesBefore = ecs.requests.length;
    expect((await ask(client)).length).toBeGreaterThan(0);
    // Fresh credentials are cached: no further fetch.
    expect(ecs.requests.length).toBe(fetchesBefore);
    expect(ecs.requests.every((request) => request.headers.authorization === "ecs-auth-token")).toBe(true);
    // Three calls, three Bedrock requests: none was refused and retried.
    expect(mock!.requests).toHaveLength(3);
  });

  it("EC2 instance metadata with IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT)", async () => {
    const instance = served("imds");
    const imds = await startInstanceMetadataServer({ credentials: () => instance });
    standIns.push(imds);
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url;
    const client = await gatewayFor([asAccepted(instance)]);
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect(signedWith(mock!.requests.at(-1))).toBe(instance.accessKeyId);
    // IMDSv2: a token was asked for first (PUT), and the credential reads carried it.
    expect(imds.requests[0]?.method).toBe("PUT");
    expect(
      imds.requests
        .filter((request) => request.method === "GET")
        .every((r) => r.headers["x-aws-ec2-metadata-token"]),
    ).toBe(true);
  });

  it("a credentials file with two profiles: aws_profile_name picks one, AWS_PROFILE the default", async () => {
    const path = join(directory, "credentials");
    writeFileSync(
      path,
      "[default]\naws_access_key_id = AKIADEFAULTPROFILE\naws_secret_access_key = default-secret\n\n[bedrock-team]\naws_access_key_id = AKIATEAMPROFILE\naws_secret_access_key = team-secret\n",
    );
    process.env.AWS_SHARED_CREDENTIALS_FILE = path;
    const accepted = [
      { accessKeyId: "AKIADEFAULTPROFILE", secretAccessKey: "default-secret" },
      { accessKeyId: "AKIATEAMPROFILE", secretAccessKey: "team-secret" },
    ];
    let client = await gatewayFor(accepted, { aws_profile_name: "bedrock-team" });
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect(signedWith(mock!.requests.at(-1))).toBe("AKIATEAMPROFILE");
    await app!.close();
    await mock!.close();

    client = await gatewayFor(accepted);
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect(signedWith(mock!.requests.at(-1))).toBe("AKIADEFAULTPROFILE");
  });

  it("aws_role_name + aws_session_name: STS AssumeRole (aws_sts_endpoint) with the chain's keys", async () => {
    const master = { accessKeyId: "AKIAMASTERKEY", secretAccessKey: "master-secret" };
    const assumed = served("assumed");
    const sessions: string[] = [];
    const sts = await startStsServer({
      callers: [master],
      credentials: (roleArn, sessionName) => {
        sessions.push(`${roleArn} ${sessionName}`);
        return assumed;
      },
    });
    standIns.push(sts);
    process.env.AWS_ACCESS_KEY_ID = master.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = master.secretAccessKey;
    const client = await gatewayFor([asAccepted(assumed)], {
      aws_role_name: "arn:aws:iam::123456789012:role/bedrock-invoker",
      aws_session_name: "llmux-test-session",
      aws_sts_endpoint: sts.url,
    });
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect((await ask(client, true)).length).toBeGreaterThan(0);
    // One AssumeRole for both calls (cached), signed by the master keys; Bedrock saw the role's keys.
    expect(sessions).toEqual(["arn:aws:iam::123456789012:role/bedrock-invoker llmux-test-session"]);
    expect(signedWith(sts.requests[0])).toBe(master.accessKeyId);
    expect(mock!.requests.map(signedWith)).toEqual([assumed.accessKeyId, assumed.accessKeyId]);
  });

  it("web identity (EKS / IRSA): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN against STS at AWS_ENDPOINT_URL_STS", async () => {
    const tokenFile = join(directory, "eks-token");
    writeFileSync(tokenFile, "eks-projected-service-account-jwt");
    const role = served("irsa");
    const sessions: string[] = [];
    const sts = await startStsServer({
      callers: [],
      webIdentityTokens: ["eks-projected-service-account-jwt"],
      credentials: (roleArn, sessionName) => {
        sessions.push(`${roleArn} ${sessionName}`);
        return role;
      },
    });
    standIns.push(sts);
    process.env.AWS_WEB_IDENTITY_TOKEN_FILE = tokenFile;
    process.env.AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/llmux-irsa";
    process.env.AWS_ROLE_SESSION_NAME = "llmux-pod";
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    const client = await gatewayFor([asAccepted(role)]);
    // Sent: two calls, one streamed; came back: answers signed with the role's keys, one STS call.
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect((await ask(client, true)).length).toBeGreaterThan(0);
    expect(sessions).toEqual(["arn:aws:iam::123456789012:role/llmux-irsa llmux-pod"]);
    const form = new URLSearchParams(sts.requests[0]!.body);
    expect(form.get("Action")).toBe("AssumeRoleWithWebIdentity");
    expect(form.get("WebIdentityToken")).toBe("eks-projected-service-account-jwt");
    // AssumeRoleWithWebIdentity is unsigned, as on AWS.
    expect(sts.requests[0]!.headers.authorization).toBeUndefined();
    expect(mock!.requests.map(signedWith)).toEqual([role.accessKeyId, role.accessKeyId]);
    expect(mock!.requests.at(-1)?.headers["x-amz-security-token"]).toBe(role.sessionToken);
  });

  it("aws_web_identity_token + aws_role_name (LiteLLM's keys) through aws_sts_endpoint; a bad token names the source", async () => {
    const role = served("litellmweb");
    const sts = await startStsServer({
      callers: [],
      webIdentityTokens: ["oidc-token-from-config"],
      credentials: () => role,
    });
    standIns.push(sts);
    const params = {
      aws_role_name: "arn:aws:iam::123456789012:role/llmux-oidc",
      aws_session_name: "llmux-oidc-session",
      aws_sts_endpoint: sts.url,
    };
    let client = await gatewayFor([asAccepted(role)], {
      ...params,
      aws_web_identity_token: "oidc-token-from-config",
    });
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect(new URLSearchParams(sts.requests[0]!.body).get("RoleSessionName")).toBe("llmux-oidc-session");
    expect(signedWith(mock!.requests.at(-1))).toBe(role.accessKeyId);
    await app!.close();
    await mock!.close();

    client = await gatewayFor([asAccepted(role)], { ...params, aws_web_identity_token: "a-rejected-token" });
    const failure = (await ask(client).catch((caught: unknown) => caught)) as {
      status: number;
      message: string;
    };
    expect(failure.status).toBe(502);
    expect(failure.message).toContain("No AWS credentials: tried web identity (aws_web_identity_token)");
    expect(failure.message).not.toContain("a-rejected-token");
    expect(mock!.requests).toHaveLength(0);
  });

  it("IAM Identity Center (SSO): an sso-session profile, the token cached by `aws sso login`, the portal at AWS_ENDPOINT_URL_SSO", async () => {
    const home = mkdtempSync(join(tmpdir(), "llmux-sso-home-"));
    mkdirSync(join(home, ".aws", "sso", "cache"), { recursive: true });
    const config = join(home, ".aws", "config");
    writeFileSync(
      config,
      [
        "[profile bedrock-sso]",
        "sso_session = llmux-sso",
        "sso_account_id = 123456789012",
        "sso_role_name = BedrockInvoker",
        "region = us-west-2",
        "",
        "[sso-session llmux-sso]",
        "sso_start_url = https://llmux-test.awsapps.com/start",
        "sso_region = us-east-1",
        "sso_registration_scopes = sso:account:access",
        "",
      ].join("\n"),
    );
    // What `aws sso login --sso-session llmux-sso` writes: ~/.aws/sso/cache/{sha1(session name)}.json.
    const cacheName = createHash("sha1").update("llmux-sso").digest("hex");
    writeFileSync(
      join(home, ".aws", "sso", "cache", `${cacheName}.json`),
      JSON.stringify({
        startUrl: "https://llmux-test.awsapps.com/start",
        region: "us-east-1",
        accessToken: "cached-sso-access-token",
        expiresAt: minutes(120).toISOString(),
        clientId: "client-id",
        clientSecret: "client-secret",
        registrationExpiresAt: minutes(60 * 24 * 30).toISOString(),
        refreshToken: "refresh-token",
      }),
    );
    const role = served("ssorole");
    const portal = await startSsoPortalServer({
      accessToken: "cached-sso-access-token",
      roles: [{ accountId: "123456789012", roleName: "BedrockInvoker" }],
      credentials: () => role,
    });
    standIns.push(portal);
    process.env.HOME = home;
    process.env.AWS_CONFIG_FILE = config;
    process.env.AWS_ENDPOINT_URL_SSO = portal.url;
    process.env.AWS_PROFILE = "bedrock-sso";

    // The default chain with AWS_PROFILE, then the same profile named by aws_profile_name.
    let client = await gatewayFor([asAccepted(role)]);
    expect((await ask(client)).length).toBeGreaterThan(0);
    expect(signedWith(mock!.requests.at(-1))).toBe(role.accessKeyId);
    await app!.close();
    await mock!.close();
    delete process.env.AWS_PROFILE;
    client = await gatewayFor([asAccepted(role)], { aws_profile_name: "bedrock-sso" });
    expect((await ask(client, true)).length).toBeGreaterThan(0);
    expect(signedWith(mock!.requests.at(-1))).toBe(role.accessKeyId);
    expect(mock!.requests.at(-1)?.headers["x-amz-security-token"]).toBe(role.sessionToken);

    expect(portal.requests).toHaveLength(2);
    for (const request of portal.requests) {
      expect(request.path).toBe("/federation/credentials?account_id=123456789012&role_name=BedrockInvoker");
      expect(request.headers["x-amz-sso_bearer_token"]).toBe("cached-sso-access-token");
    }
  });

  it("no credentials anywhere: a clear error naming the chain tried, not a hang", async () => {
    const client = await gatewayFor([{ accessKeyId: "AKIDMOCKTEST", secretAccessKey: "mock-secret" }]);
    const error = await ask(client).catch((caught: unknown) => caught as { status: number; message: string });
    expect(typeof error).toBe("object");
    const failure = error as { status: number; message: string };
    expect(failure.status).toBe(502);
    expect(failure.message).toContain("No AWS credentials: tried the AWS default chain");
    expect(failure.message).toContain("EC2 instance metadata");
    expect(failure.message).toContain("ECS container credentials");
    expect(mock!.requests).toHaveLength(0);
  });
});

describe("cachedCredentials", () => {
  it("shares one load between concurrent callers and keeps valid credentials when a reload fails", async () => {
    let now = 1_000_000;
    let loads = 0;
    let fail = false;
    const provider = cachedCredentials(
      async () => {
        loads++;
        if (fail) throw new Error("endpoint down");
        return {
          accessKeyId: `K${loads}`,
          secretAccessKey: "s",
          expiration: new Date(now + REFRESH_AHEAD_MS + 60_000),
        };
      },
      "a test source",
      { now: () => now },
    );
    const [a, b] = await Promise.all([provider(), provider()]);
    expect(loads).toBe(1);
    expect(a).toBe(b);
    now += 30_000; // still fresh
    expect((await provider()).accessKeyId).toBe("K1");
    now += 40_000; // inside the refresh margin: reloads
    expect((await provider()).accessKeyId).toBe("K2");
    now += 70_000;
    fail = true; // the reload fails, but K2 is valid for minutes more: served without an error
    expect((await provider()).accessKeyId).toBe("K2");
    now += REFRESH_AHEAD_MS + 120_000; // expired and the source is down: the error names it
    await expect(provider()).rejects.toThrow(/No AWS credentials: tried a test source\. endpoint down/);
  });
});
