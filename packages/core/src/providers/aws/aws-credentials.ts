/**
 * AWS credentials for SigV4, resolved the way the AWS SDK does it and shared by every Bedrock
 * deployment with the same settings:
 *
 * - static keys (aws_access_key_id / aws_secret_access_key / aws_session_token) when the deployment has them;
 * - else the SDK's default chain (`fromNodeProviderChain`): environment, shared config and credentials
 *   files (AWS_PROFILE, SSO, credential_process), web identity (EKS, AWS_WEB_IDENTITY_TOKEN_FILE), ECS
 *   container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI), EC2 instance metadata
 *   (IMDSv2) — or one profile (aws_profile_name), or a web identity token (aws_web_identity_token +
 *   aws_role_name);
 * - then, with aws_role_name, an STS AssumeRole (aws_session_name, aws_sts_endpoint) on top.
 *
 * The SDK is imported on first use, so importing @llmux/core stays light. Credentials are cached and
 * reloaded REFRESH_AHEAD_MS before they expire; one load at a time; a failed reload keeps serving the
 * previous credentials while they are still valid. A load that fails or takes longer than
 * `timeoutMs` is an error that names the chain tried — never a hang.
 */
import { LlmuxError } from "../../errors/llmux-error";

export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** LiteLLM's AWS keys of one deployment (litellm_params), all optional. */
export interface AwsCredentialSettings {
  aws_access_key_id?: string;
  aws_secret_access_key?: string;
  aws_session_token?: string;
  aws_profile_name?: string;
  aws_role_name?: string;
  aws_session_name?: string;
  aws_web_identity_token?: string;
  aws_sts_endpoint?: string;
  aws_region_name?: string;
}

export interface AwsCredentialProvider {
  (): Promise<AwsIdentity>;
  /** What the provider tries, for error messages and start-up logs. */
  readonly description: string;
}

/** Credentials are reloaded this long before they expire (the AWS SDK's own margin). */
export const REFRESH_AHEAD_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 20_000;

const DEFAULT_CHAIN =
  "the AWS default chain: environment (AWS_ACCESS_KEY_ID), shared config/credentials files (AWS_PROFILE, SSO, credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), ECS container credentials (AWS_CONTAINER_CREDENTIALS_*_URI), EC2 instance metadata (IMDSv2)";

const providers = new Map<string, AwsCredentialProvider>();

/** The (cached, shared) provider for these settings. */
export function awsCredentialProvider(
  settings: AwsCredentialSettings,
  options: { env?: Record<string, string | undefined>; timeoutMs?: number; now?: () => number } = {},
): AwsCredentialProvider {
  const env = options.env ?? process.env;
  const text = (value: unknown) =>
    typeof value === "string" && value.trim().length > 0 ? value.trim() : undefined;
  const accessKeyId = text(settings.aws_access_key_id);
  const secretAccessKey = text(settings.aws_secret_access_key);
  if (accessKeyId && secretAccessKey && !text(settings.aws_role_name)) {
    const identity: AwsIdentity = { accessKeyId, secretAccessKey };
    const sessionToken = text(settings.aws_session_token);
    if (sessionToken) identity.sessionToken = sessionToken;
    return Object.assign(async () => identity, { description: "aws_access_key_id / aws_secret_access_key" });
  }
  const key = JSON.stringify([
    accessKeyId,
    secretAccessKey,
    text(settings.aws_session_token),
    text(settings.aws_profile_name),
    text(settings.aws_role_name),
    text(settings.aws_session_name),
    text(settings.aws_web_identity_token),
    text(settings.aws_sts_endpoint) ?? text(env.AWS_ENDPOINT_URL_STS),
    awsRegion(settings, env),
  ]);
  let provider = providers.get(key);
  if (!provider) {
    provider = createProvider(settings, env, options);
    if (providers.size >= 64) providers.clear();
    providers.set(key, provider);
  }
  return provider;
}

/** Forgets every cached provider (tests; a host that rotated its AWS configuration). */
export function clearAwsCredentialCache(): void {
  providers.clear();
}

export function awsRegion(settings: AwsCredentialSettings, env: Record<string, string | undefined>): string {
  const text = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : undefined);
  return (
    text(settings.aws_region_name) ??
    text(env.AWS_REGION_NAME) ??
    text(env.AWS_REGION) ??
    text(env.AWS_DEFAULT_REGION) ??
    "us-east-1"
  );
}

type SdkProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsIdentity>;

function createProvider(
  settings: AwsCredentialSettings,
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; now?: () => number },
): AwsCredentialProvider {
  const region = awsRegion(settings, env);
  const profile = settings.aws_profile_name?.trim() || undefined;
  const role = settings.aws_role_name?.trim() || undefined;
  const webToken = settings.aws_web_identity_token?.trim() || undefined;
  const stsEndpoint = settings.aws_sts_endpoint?.trim() || env.AWS_ENDPOINT_URL_STS?.trim() || undefined;
  const sessionName = settings.aws_session_name?.trim() || `llmux-${Date.now()}`;
  const stsClientConfig = { region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) };

  let description: string;
  if (webToken && role) description = `web identity (aws_web_identity_token) for role ${role}`;
  else {
    const base =
      settings.aws_access_key_id && settings.aws_secret_access_key
        ? "aws_access_key_id / aws_secret_access_key"
        : profile
          ? `the shared config/credentials files, profile '${profile}' (aws_profile_name)`
          : DEFAULT_CHAIN;
    description = role
      ? `${base}, then STS AssumeRole ${role}${stsEndpoint ? ` at ${stsEndpoint}` : ""}`
      : base;
  }

  let sdk: SdkProvider | undefined;
  const load = async (): Promise<AwsIdentity> => {
    if (!sdk) {
      const module = await import("@aws-sdk/credential-providers");
      if (webToken && role) {
        sdk = module.fromWebToken({
          roleArn: role,
          webIdentityToken: webToken,
          roleSessionName: sessionName,
          clientConfig: stsClientConfig,
        }) as SdkProvider;
      } else {
        let master: SdkProvider | AwsIdentity;
        if (settings.aws_access_key_id && settings.aws_secret_access_key) {
          master = {
            accessKeyId: settings.aws_access_key_id,
            secretAccessKey: settings.aws_secret_access_key,
            ...(settings.aws_session_token ? { sessionToken: settings.aws_session_token } : {}),
          };
        } else if (profile) {
          master = module.fromIni({ profile, clientConfig: { region } }) as SdkProvider;
        } else {
          master = module.fromNodeProviderChain({ clientConfig: { region } }) as SdkProvider;
        }
        sdk = role
          ? (module.fromTemporaryCredentials({
              params: { RoleArn: role, RoleSessionName: sessionName },
              masterCredentials: master,
              clientConfig: stsClientConfig,
            }) as SdkProvider)
          : typeof master === "function"
            ? master
            : async () => master as AwsIdentity;
      }
    }
    return sdk({ forceRefresh: true });
  };
  return Object.assign(cachedCredentials(load, description, options), { description });
}

/**
 * Caches `load`'s credentials until REFRESH_AHEAD_MS before they expire; concurrent callers share one
 * load; a failed reload returns the previous credentials while they are still valid.
 */
export function cachedCredentials(
  load: () => Promise<AwsIdentity>,
  description: string,
  options: { timeoutMs?: number; now?: () => number } = {},
): () => Promise<AwsIdentity> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let current: AwsIdentity | undefined;
  let pending: Promise<AwsIdentity> | undefined;
  const fresh = (identity: AwsIdentity) =>
    identity.expiration === undefined || identity.expiration.getTime() - now() > REFRESH_AHEAD_MS;
  const valid = (identity: AwsIdentity) =>
    identity.expiration === undefined || identity.expiration.getTime() - now() > 10_000;
  return async () => {
    if (current && fresh(current)) return current;
    if (!pending) {
      pending = withTimeout(load(), timeoutMs, description).then(
        (identity) => {
          pending = undefined;
          current = identity;
          return identity;
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
    }
    try {
      return await pending;
    } catch (error) {
      if (current && valid(current)) return current;
      throw missingCredentials(description, error);
    }
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms from ${description}`)),
      timeoutMs,
    );
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function missingCredentials(description: string, cause: unknown): LlmuxError {
  if ((cause as { kind?: string })?.kind === "authentication") return cause as LlmuxError;
  const reason = String((cause as Error)?.message ?? cause).split("\n")[0];
  return new LlmuxError({
    kind: "authentication",
    status: 502,
    message: `No AWS credentials: tried ${description}. ${reason}`,
    code: "missing_aws_credentials",
    cause,
  });
}
