import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Deployment } from "../../config/types";
import { LlmuxError } from "../../errors/llmux-error";

/**
 * AWS SigV4 for bedrock-runtime with the maintained Smithy signer. Credentials come from the
 * deployment (aws_access_key_id, aws_secret_access_key, aws_session_token, aws_region_name) or
 * the standard AWS_* environment variables (AWS_REGION_NAME, LiteLLM's, as well as AWS_REGION).
 */
export interface BedrockCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

export function bedrockCredentials(
  deployment: Deployment,
  env: Record<string, string | undefined> = process.env,
): BedrockCredentials {
  const params = deployment.params;
  const text = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : undefined);
  const accessKeyId = text(params.aws_access_key_id) ?? text(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = text(params.aws_secret_access_key) ?? text(env.AWS_SECRET_ACCESS_KEY);
  // A session token only belongs with the key pair it was issued for.
  const sessionToken = text(params.aws_access_key_id)
    ? text(params.aws_session_token)
    : (text(params.aws_session_token) ?? text(env.AWS_SESSION_TOKEN));
  const region =
    text(params.aws_region_name) ??
    text(env.AWS_REGION_NAME) ??
    text(env.AWS_REGION) ??
    text(env.AWS_DEFAULT_REGION) ??
    "us-east-1";
  if (!accessKeyId || !secretAccessKey) {
    throw new LlmuxError({
      kind: "authentication",
      status: 502,
      message: `Deployment '${deployment.id}' has no AWS credentials: set aws_access_key_id and aws_secret_access_key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)`,
      provider: "bedrock",
      deploymentId: deployment.id,
      code: "missing_aws_credentials",
    });
  }
  const credentials: BedrockCredentials = { accessKeyId, secretAccessKey, region };
  if (sessionToken) credentials.sessionToken = sessionToken;
  return credentials;
}

const signers = new Map<string, SignatureV4>();

function signerFor(credentials: BedrockCredentials): SignatureV4 {
  const key = [
    credentials.accessKeyId,
    credentials.secretAccessKey,
    credentials.sessionToken ?? "",
    credentials.region,
  ].join("\u0000");
  let signer = signers.get(key);
  if (!signer) {
    const identity: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
    };
    if (credentials.sessionToken) identity.sessionToken = credentials.sessionToken;
    signer = new SignatureV4({
      credentials: identity,
      region: credentials.region,
      service: "bedrock",
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum: true,
    });
    if (signers.size >= 256) signers.clear();
    signers.set(key, signer);
  }
  return signer;
}

/** The headers of a signed POST of `body` to `url` (host, x-amz-date, authorization, ...). */
export async function signBedrockRequest(
  url: string,
  body: string,
  headers: Record<string, string>,
  credentials: BedrockCredentials,
): Promise<Record<string, string>> {
  const parsed = new URL(url);
  const query: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) query[key] = value;
  const signed = await signerFor(credentials).sign({
    method: "POST",
    protocol: parsed.protocol,
    hostname: parsed.hostname,
    ...(parsed.port ? { port: Number(parsed.port) } : {}),
    path: parsed.pathname,
    query,
    headers: { ...headers, host: parsed.host },
    body,
  });
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(signed.headers)) {
    if (typeof value === "string") result[key.toLowerCase()] = value;
  }
  return result;
}
