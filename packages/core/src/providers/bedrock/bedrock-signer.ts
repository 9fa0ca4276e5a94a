import type { SignatureV4 } from "@smithy/signature-v4";
import type { Deployment } from "../../config/types";
import { LlmuxError } from "../../errors/llmux-error";
import { type AwsCredentialSettings, awsCredentialProvider, awsRegion } from "../aws/aws-credentials";

/**
 * AWS SigV4 for bedrock-runtime with the maintained Smithy signer. Credentials: the deployment's
 * static keys (aws_access_key_id, aws_secret_access_key, aws_session_token), else AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the AWS SDK's default chain or the profile, web
 * identity and assume-role settings (aws_profile_name, aws_web_identity_token, aws_role_name,
 * aws_session_name, aws_sts_endpoint): see ../aws/aws-credentials.ts. Region: aws_region_name, else
 * AWS_REGION_NAME (LiteLLM's), AWS_REGION, AWS_DEFAULT_REGION, us-east-1.
 */
export interface BedrockCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

export async function bedrockCredentials(
  deployment: Deployment,
  env: Record<string, string | undefined> = process.env,
): Promise<BedrockCredentials> {
  const params = deployment.params as AwsCredentialSettings;
  const region = awsRegion(params, env);
  const text = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : undefined);
  const chainSettings =
    text(params.aws_profile_name) ?? text(params.aws_role_name) ?? text(params.aws_web_identity_token);
  if (!text(params.aws_access_key_id) && !chainSettings) {
    // The environment's static keys, read at each request (the first link of the default chain).
    const accessKeyId = text(env.AWS_ACCESS_KEY_ID);
    const secretAccessKey = text(env.AWS_SECRET_ACCESS_KEY);
    if (accessKeyId && secretAccessKey) {
      const sessionToken = text(env.AWS_SESSION_TOKEN);
      return { accessKeyId, secretAccessKey, region, ...(sessionToken ? { sessionToken } : {}) };
    }
  }
  try {
    const identity = await awsCredentialProvider(params, { env })();
    return {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      region,
      ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
    };
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    throw new LlmuxError({
      kind: "authentication",
      status: 502,
      message: `Deployment '${deployment.id}': ${message}`,
      provider: "bedrock",
      deploymentId: deployment.id,
      code: "missing_aws_credentials",
      cause: error,
    });
  }
}

const signers = new Map<string, SignatureV4>();

interface SignerModules {
  SignatureV4: typeof import("@smithy/signature-v4").SignatureV4;
  Sha256: typeof import("@aws-crypto/sha256-js").Sha256;
}

let signerModules: Promise<SignerModules> | undefined;

/**
 * The Smithy signer and its SHA-256, imported on the first signed request: about 5 MB of resident
 * memory (code and module sources kept for the life of the process) that a gateway without a
 * Bedrock deployment never needs. A failed import is retried on the next request.
 */
function loadSignerModules(): Promise<SignerModules> {
  signerModules ??= Promise.all([import("@smithy/signature-v4"), import("@aws-crypto/sha256-js")]).then(
    ([signature, sha]) => ({ SignatureV4: signature.SignatureV4, Sha256: sha.Sha256 }),
    (error: unknown) => {
      signerModules = undefined;
      throw error;
    },
  );
  return signerModules;
}

function signerFor(credentials: BedrockCredentials, { SignatureV4, Sha256 }: SignerModules): SignatureV4 {
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
  const modules = await loadSignerModules();
  const parsed = new URL(url);
  const query: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) query[key] = value;
  const signed = await signerFor(credentials, modules).sign({
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
