import { copyWithout } from "./copy-with";

/** Body keys that belong to the gateway and are never sent upstream. */
export const GATEWAY_KEYS = [
  "metadata",
  "fallbacks",
  "timeout",
  "no_log",
  "num_retries",
  "context_window_fallback_dict",
  "mock_testing_fallbacks",
  // per-request response cache controls (LiteLLM's `cache: {"no-cache": true, ...}`)
  "cache",
];

/**
 * Body keys that would choose the upstream or its credentials (LiteLLM accepts them per request):
 * refused with a 400 naming the key unless general_settings.allow_client_side_credentials is on.
 */
export const CREDENTIAL_KEYS: readonly string[] = [
  "api_base",
  "base_url",
  "api_key",
  "api_version",
  "organization",
  "extra_headers",
  // AWS: static keys, region, endpoint and the credential chain (profile, role, web identity, STS)
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "aws_region_name",
  "aws_bedrock_runtime_endpoint",
  "aws_profile_name",
  "aws_role_name",
  "aws_session_name",
  "aws_web_identity_token",
  "aws_sts_endpoint",
  // Azure: an Entra ID token instead of the key
  "azure_ad_token",
];

/** Sampling parameters recorded in events (never content). */
const PARAM_KEYS = [
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "n",
  "stop",
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "response_format",
  "tool_choice",
  "parallel_tool_calls",
  "reasoning_effort",
  "dimensions",
  "encoding_format",
  "top_k",
  "stop_sequences",
];

export function requestParams(body: Record<string, unknown>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const key of PARAM_KEYS) if (body[key] !== undefined) params[key] = body[key];
  if (Array.isArray(body.tools))
    params.tools = (body.tools as Array<{ function?: { name?: string }; name?: string }>).map(
      (tool) => tool.function?.name ?? tool.name,
    );
  return params;
}

/** The body as sent upstream: gateway keys removed (the original is not modified). */
export function upstreamBody<T extends Record<string, unknown>>(body: T): T {
  for (const key of GATEWAY_KEYS) if (key in body) return copyWithout(body, GATEWAY_KEY_SET);
  return body;
}

const GATEWAY_KEY_SET: ReadonlySet<string> = new Set(GATEWAY_KEYS);
