/**
 * Turns a tracking URI into the base URL requests go to. A SageMaker managed MLflow ARN maps to
 * `https://{region}.experiments.sagemaker.aws`, as the sagemaker-mlflow plugin does
 * (SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT overrides it); its requests carry the
 * `x-mlflow-sm-tracking-server-arn` header and a SigV4 signature for service "sagemaker-mlflow".
 */
import { createMlflowError } from "./errors";

export interface SageMakerTarget {
  /** The ARN without a `#role` suffix (sent in x-mlflow-sm-tracking-server-arn). */
  arn: string;
  partition: string;
  region: string;
  account: string;
  /** "mlflow-tracking-server" or "mlflow-app". */
  resourceType: string;
  resourceName: string;
  /** The `#arn:aws:iam::…:role/…` suffix, when given. */
  assumeRoleArn?: string;
}

export interface TrackingTarget {
  /** Base URL without a trailing slash; API paths are appended to it. */
  baseUrl: string;
  sagemaker?: SageMakerTarget;
}

export const SAGEMAKER_SIGNING_SERVICE = "sagemaker-mlflow";
export const SAGEMAKER_ARN_HEADER = "x-mlflow-sm-tracking-server-arn";

const DNS_SUFFIX_BY_PARTITION: Record<string, string> = { aws: "aws", "aws-us-gov": "aws" };

export function parseSageMakerArn(value: string): SageMakerTarget {
  const [arn = "", assumeRoleArn, ...rest] = value.trim().split("#");
  if (rest.length > 0) throw createMlflowError("config", "the SageMaker tracking URI has more than one '#'");
  const parts = arn.split(":");
  const resource = parts.slice(5).join(":");
  const slash = resource.indexOf("/");
  const [, partition = "", service = "", region = "", account = ""] = parts;
  const resourceType = slash > 0 ? resource.slice(0, slash) : "";
  const resourceName = slash > 0 ? resource.slice(slash + 1) : "";
  if (
    parts.length < 6 ||
    parts[0] !== "arn" ||
    service !== "sagemaker" ||
    !region ||
    !resourceType ||
    !resourceName
  ) {
    throw createMlflowError(
      "config",
      `"${arn}" is not a SageMaker MLflow ARN (expected arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME)`,
    );
  }
  if (DNS_SUFFIX_BY_PARTITION[partition] === undefined) {
    throw createMlflowError(
      "config",
      `SageMaker MLflow partition "${partition}" is not supported (aws, aws-us-gov)`,
    );
  }
  const target: SageMakerTarget = { arn, partition, region, account, resourceType, resourceName };
  if (assumeRoleArn !== undefined && assumeRoleArn !== "") target.assumeRoleArn = assumeRoleArn;
  return target;
}

export function resolveTrackingTarget(
  trackingUri: string,
  env: Record<string, string | undefined>,
): TrackingTarget {
  const uri = trackingUri.trim();
  if (uri.startsWith("arn:")) {
    const sagemaker = parseSageMakerArn(uri);
    const custom = env.SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT?.trim();
    const baseUrl = custom
      ? stripTrailingSlash(custom)
      : `https://${sagemaker.region}.experiments.sagemaker.${DNS_SUFFIX_BY_PARTITION[sagemaker.partition]}`;
    return { baseUrl, sagemaker };
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw createMlflowError(
      "config",
      "MLFLOW_TRACKING_URI must be an http(s) URL of the tracking server or a SageMaker MLflow ARN",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw createMlflowError(
      "config",
      `MLflow tracking URI scheme "${url.protocol}" is not supported: use the tracking server's http(s) URL (llmux talks to MLflow over its REST API; "databricks" and file stores are not supported)`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw createMlflowError(
      "config",
      "the MLflow tracking URI must not carry credentials: use MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN",
    );
  }
  url.search = "";
  url.hash = "";
  return { baseUrl: stripTrailingSlash(url.toString()) };
}

function stripTrailingSlash(value: string): string {
  return value.replace(/\/+$/, "");
}
