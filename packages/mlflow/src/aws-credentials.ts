/**
 * AWS credentials for SigV4: from the options, or from the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) read at each request. No credential chain is bundled
 * (instance roles, SSO, assume-role): pass a provider such as `fromNodeProviderChain()` instead.
 */
import { createMlflowError } from "./errors";
import type { AwsCredentials, AwsCredentialsProvider, AwsOptions } from "./types";

export function createCredentialsProvider(
  aws: AwsOptions | undefined,
  env: Record<string, string | undefined>,
): AwsCredentialsProvider {
  const configured = aws?.credentials;
  if (typeof configured === "function") return configured;
  if (configured !== undefined) {
    const fixed = { ...configured };
    return async () => fixed;
  }
  return async (): Promise<AwsCredentials> => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
    if (!accessKeyId || !secretAccessKey) {
      throw createMlflowError(
        "config",
        "SageMaker MLflow needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones) or pass aws.credentials",
      );
    }
    const sessionToken = env.AWS_SESSION_TOKEN?.trim();
    return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
  };
}
