import type { Deployment } from "../../config/types";
import type { BedrockCredentials } from "./bedrock-signer";

/**
 * What a `bedrock/...` model string names: the model id (or inference profile / ARN), the API to
 * call it with (LiteLLM's `bedrock/converse/...` and `bedrock/invoke/...` route prefixes) and the
 * model family.
 */
export interface BedrockModel {
  modelId: string;
  api: "converse" | "invoke";
  family: "anthropic" | "meta" | "amazon" | "cohere" | "mistral" | "other";
}

const REGION_PREFIX = /^(?:us|eu|apac|global|us-gov|jp|au|ca)\./;

export function bedrockModel(deployment: Deployment): BedrockModel {
  let modelId = deployment.model;
  let api: BedrockModel["api"] = "converse";
  if (modelId.startsWith("converse/")) modelId = modelId.slice("converse/".length);
  else if (modelId.startsWith("invoke/")) {
    modelId = modelId.slice("invoke/".length);
    api = "invoke";
  }
  return { modelId, api, family: familyOf(deployment.baseModel ?? modelId) };
}

function familyOf(modelId: string): BedrockModel["family"] {
  // ARNs: the profile or model name is the last path segment.
  const name = (modelId.includes("/") ? modelId.slice(modelId.lastIndexOf("/") + 1) : modelId)
    .replace(/^bedrock\//, "")
    .replace(REGION_PREFIX, "");
  if (name.startsWith("anthropic.") || name.startsWith("claude")) return "anthropic";
  if (name.startsWith("meta.")) return "meta";
  if (name.startsWith("amazon.")) return "amazon";
  if (name.startsWith("cohere.")) return "cohere";
  if (name.startsWith("mistral.")) return "mistral";
  return "other";
}

/**
 * `{endpoint}/model/{modelId}/{operation}`, the model id percent-encoded as the AWS SDK does it. The
 * endpoint: the deployment's api_base, else its aws_bedrock_runtime_endpoint, else the environment's
 * AWS_BEDROCK_RUNTIME_ENDPOINT (LiteLLM's name) or AWS_ENDPOINT_URL_BEDROCK_RUNTIME (the AWS SDKs'),
 * else the region's public endpoint.
 */
export function bedrockUrl(
  deployment: Deployment,
  credentials: BedrockCredentials,
  modelId: string,
  operation: "converse" | "converse-stream" | "invoke" | "invoke-with-response-stream",
  env: Record<string, string | undefined> = process.env,
): string {
  const configured = [
    deployment.params.aws_bedrock_runtime_endpoint,
    env.AWS_BEDROCK_RUNTIME_ENDPOINT,
    env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
  ].find((value): value is string => typeof value === "string" && value.trim().length > 0);
  const endpoint =
    deployment.apiBase ??
    configured?.trim().replace(/\/+$/, "") ??
    `https://bedrock-runtime.${credentials.region}.amazonaws.com`;
  return `${endpoint}/model/${encodeLabel(modelId)}/${operation}`;
}

function encodeLabel(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
