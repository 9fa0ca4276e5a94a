/**
 * AWS credentials for SigV4 (SageMaker MLflow, S3 artifact uploads): from the options; else the
 * environment's static keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) read at each
 * request; else the AWS SDK's default chain (`fromNodeProviderChain`: shared config/credentials files
 * with AWS_PROFILE and SSO, web identity, ECS container credentials, EC2 instance metadata), or one
 * profile (`aws.profile`). With a role to assume (`aws.roleArn`, or the tracking URI's `#arn:aws:iam::…`
 * suffix as in the sagemaker-mlflow plugin) an STS AssumeRole on top (`aws.stsEndpoint` or
 * AWS_ENDPOINT_URL_STS). The SDK is imported on first use. Chain credentials are cached and reloaded
 * five minutes before they expire; a failed reload keeps the previous ones while still valid; a load
 * that fails or hangs is a config error naming the chain tried.
 */
import { createMlflowError } from "./errors";
import type { AwsCredentials, AwsCredentialsProvider, AwsOptions } from "./types";

const REFRESH_AHEAD_MS = 5 * 60_000;
const LOAD_TIMEOUT_MS = 20_000;
const DEFAULT_CHAIN =
  "the AWS default chain: environment, shared config/credentials files (AWS_PROFILE, SSO, credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), ECS container credentials (AWS_CONTAINER_CREDENTIALS_*_URI), EC2 instance metadata (IMDSv2)";

type SdkProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentials>;

export function createCredentialsProvider(
  aws: AwsOptions | undefined,
  env: Record<string, string | undefined>,
  assumeRoleArn?: string,
): AwsCredentialsProvider {
  const configured = aws?.credentials;
  if (typeof configured === "function") return configured;
  if (configured !== undefined) {
    const fixed = { ...configured };
    return async () => fixed;
  }
  const roleArn = aws?.roleArn ?? assumeRoleArn;
  const staticKeys = (): AwsCredentials | undefined => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
    if (!accessKeyId || !secretAccessKey) return undefined;
    const sessionToken = env.AWS_SESSION_TOKEN?.trim();
    return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
  };
  const region = aws?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const stsEndpoint = aws?.stsEndpoint ?? env.AWS_ENDPOINT_URL_STS?.trim();
  const base = aws?.profile ? `the shared config/credentials files, profile '${aws.profile}'` : DEFAULT_CHAIN;
  const description = roleArn ? `${base}, then STS AssumeRole ${roleArn}` : base;
  let sdk: SdkProvider | undefined;
  const load = async (): Promise<AwsCredentials> => {
    if (!sdk) {
      const module = await import("@aws-sdk/credential-providers");
      const keys = staticKeys();
      const master: SdkProvider | AwsCredentials =
        keys ??
        ((aws?.profile
          ? module.fromIni({ profile: aws.profile, clientConfig: { region } })
          : module.fromNodeProviderChain({ clientConfig: { region } })) as SdkProvider);
      sdk = roleArn
        ? (module.fromTemporaryCredentials({
            params: {
              RoleArn: roleArn,
              RoleSessionName: aws?.roleSessionName ?? `llmux-mlflow-${Date.now()}`,
            },
            masterCredentials: master,
            clientConfig: { region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) },
          }) as SdkProvider)
        : typeof master === "function"
          ? master
          : async () => master as AwsCredentials;
    }
    return sdk({ forceRefresh: true });
  };

  let current: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  const remaining = (credentials: AwsCredentials) =>
    credentials.expiration === undefined
      ? Number.POSITIVE_INFINITY
      : credentials.expiration.getTime() - Date.now();
  return async () => {
    if (!roleArn && !aws?.profile) {
      const keys = staticKeys();
      if (keys) return keys;
    }
    if (current && remaining(current) > REFRESH_AHEAD_MS) return current;
    pending ??= timed(load(), description).finally(() => {
      pending = undefined;
    });
    try {
      current = await pending;
      return current;
    } catch (error) {
      if (current && remaining(current) > 10_000) return current;
      throw createMlflowError(
        "config",
        `SageMaker MLflow needs AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role): tried ${description}. ${String((error as Error)?.message ?? error).split("\n")[0]}`,
      );
    }
  };
}

function timed<T>(promise: Promise<T>, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${LOAD_TIMEOUT_MS} ms from ${description}`)),
        LOAD_TIMEOUT_MS,
      );
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
