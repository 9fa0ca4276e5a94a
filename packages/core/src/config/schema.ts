import { z } from "zod";

/**
 * The configuration schema: LiteLLM's proxy config keys (SPEC section 2), used for both the YAML file
 * and the TypeScript object. Numbers accept numeric strings from YAML/env (`"600"`).
 */

const number = z.coerce.number<unknown>();
const positive = number.refine((value) => value > 0, { message: "expected a number > 0" });
const nonNegative = number.refine((value) => value >= 0, { message: "expected a number >= 0" });

export const litellmParamsSchema = z.looseObject({
  model: z
    .string({ error: "expected a string like 'openai/gpt-4o'" })
    .regex(/^[a-z_]+\/.+/, { message: "expected 'provider/model', e.g. 'openai/gpt-4o' or 'mock/echo'" }),
  api_key: z.string().optional(),
  api_base: z.string().url({ message: "expected a URL such as https://api.openai.com/v1" }).optional(),
  api_version: z.string().optional(),
  organization: z.string().optional(),
  rpm: positive.optional(),
  tpm: positive.optional(),
  weight: nonNegative.optional(),
  order: number.int().optional(),
  timeout: positive.optional(),
  stream_timeout: positive.optional(),
  max_parallel_requests: positive.int().optional(),
  input_cost_per_token: nonNegative.optional(),
  output_cost_per_token: nonNegative.optional(),
  cache_read_input_token_cost: nonNegative.optional(),
  cache_creation_input_token_cost: nonNegative.optional(),
  output_cost_per_reasoning_token: nonNegative.optional(),
  input_cost_per_token_above_200k_tokens: nonNegative.optional(),
  output_cost_per_token_above_200k_tokens: nonNegative.optional(),
  aws_region_name: z.string().optional(),
  aws_access_key_id: z.string().optional(),
  aws_secret_access_key: z.string().optional(),
  aws_session_token: z.string().optional(),
  azure_ad_token: z.string().optional(),
  mock_response: z.string().optional(),
  mock_latency_ms: nonNegative.optional(),
  extra_headers: z.record(z.string(), z.string()).optional(),
  drop_params: z.boolean().optional(),
  additional_drop_params: z.array(z.string()).optional(),
});

export const modelInfoSchema = z.looseObject({
  id: z.string().optional(),
  base_model: z.string().optional(),
  max_input_tokens: positive.int().optional(),
  max_output_tokens: positive.int().optional(),
  max_tokens: positive.int().optional(),
  mode: z.enum(["chat", "embedding", "completion"]).optional(),
});

export const deploymentSchema = z.looseObject({
  model_name: z.string({ error: "expected the model group name clients send, e.g. 'gpt-4o'" }).min(1),
  litellm_params: litellmParamsSchema,
  model_info: modelInfoSchema.optional(),
});

const groupMap = z.array(z.record(z.string(), z.array(z.string())));
/** `alias: group` or `alias: { model: group, hidden: true }` (hidden: not listed by /v1/models). */
const modelGroupAlias = z.record(
  z.string(),
  z.union([z.string(), z.looseObject({ model: z.string(), hidden: z.boolean().optional() })]),
);

export const routingStrategySchema = z.enum([
  "simple-shuffle",
  "least-busy",
  "latency-based-routing",
  "usage-based-routing",
  "usage-based-routing-v2",
  "cost-based-routing",
]);

export const routerSettingsSchema = z.looseObject({
  routing_strategy: routingStrategySchema.optional(),
  num_retries: nonNegative.int().optional(),
  retry_policy: z.record(z.string(), nonNegative.int()).optional(),
  allowed_fails: nonNegative.int().optional(),
  cooldown_time: nonNegative.optional(),
  timeout: positive.optional(),
  stream_timeout: positive.optional(),
  fallbacks: groupMap.optional(),
  context_window_fallbacks: groupMap.optional(),
  content_policy_fallbacks: groupMap.optional(),
  default_fallbacks: z.array(z.string()).optional(),
  max_fallbacks: nonNegative.int().optional(),
  model_group_alias: modelGroupAlias.optional(),
  enable_pre_call_checks: z.boolean().optional(),
  retry_after: nonNegative.optional(),
  max_parallel_wait: nonNegative.optional(),
  routing_strategy_args: z.record(z.string(), z.unknown()).optional(),
});

export const litellmSettingsSchema = z.looseObject({
  callbacks: z.array(z.string()).optional(),
  success_callback: z.array(z.string()).optional(),
  failure_callback: z.array(z.string()).optional(),
  turn_off_message_logging: z.boolean().optional(),
  drop_params: z.boolean().optional(),
  num_retries: nonNegative.int().optional(),
  request_timeout: positive.optional(),
  // LiteLLM accepts these here as well as in router_settings (router_settings wins per group).
  fallbacks: groupMap.optional(),
  context_window_fallbacks: groupMap.optional(),
  content_policy_fallbacks: groupMap.optional(),
  default_fallbacks: z.array(z.string()).optional(),
  model_group_alias: modelGroupAlias.optional(),
});

export const generalSettingsSchema = z.looseObject({
  master_key: z.string().min(1).optional(),
  max_request_size_mb: positive.optional(),
  allow_client_side_credentials: z.boolean().optional(),
  environment: z.string().optional(),
  release: z.string().optional(),
  jsonl_path: z.string().optional(),
  /** PostgreSQL URL of the control plane (@llmux/control); DATABASE_URL works too. */
  database_url: z.string().min(1).optional(),
  /** PGlite data directory of the embedded control plane, e.g. ".llmux/store" (or "memory://"). */
  key_store: z.string().min(1).optional(),
  /** @llmux/control: seconds a cached key/user/team is trusted (the staleness bound across instances). */
  user_api_key_cache_ttl: positive.optional(),
  /** @llmux/control: seconds between spend-log writes. */
  proxy_batch_write_at: positive.optional(),
  /** @llmux/control: spend logs older than this ("90d") are deleted. */
  maximum_spend_logs_retention_period: z.string().min(1).optional(),
});

export const configSchema = z.looseObject({
  model_list: z.array(deploymentSchema).min(1, { message: "expected at least one model" }),
  router_settings: routerSettingsSchema.optional(),
  litellm_settings: litellmSettingsSchema.optional(),
  general_settings: generalSettingsSchema.optional(),
  environment_variables: z.record(z.string(), z.string()).optional(),
});

/** Known keys per section, for unknown-key warnings. */
export const KNOWN_KEYS = {
  root: Object.keys(configSchema.shape),
  deployment: Object.keys(deploymentSchema.shape),
  litellm_params: [
    ...Object.keys(litellmParamsSchema.shape),
    // provider-specific keys read by the provider adapters (docs/providers.md)
    "max_tokens",
    "anthropic_version",
    "anthropic_beta",
    "responses_api",
    "aws_bedrock_runtime_endpoint",
    // the AWS credential chain (providers/aws/aws-credentials.ts)
    "aws_profile_name",
    "aws_role_name",
    "aws_session_name",
    "aws_web_identity_token",
    "aws_sts_endpoint",
    "keep_alive",
    "options",
  ],
  model_info: [
    ...Object.keys(modelInfoSchema.shape),
    "input_cost_per_token",
    "output_cost_per_token",
    "supports_vision",
    "supports_function_calling",
    "description",
  ],
  router_settings: [
    ...Object.keys(routerSettingsSchema.shape),
    // Shared state in Redis (resolveRedisSettings -> ResolvedConfig.redis, used by @llmux/redis).
    "redis_host",
    "redis_port",
    "redis_password",
    "redis_url",
    "redis_username",
    "redis_ssl",
    "redis_ssl_ca_certs",
    "redis_key_prefix",
    "redis_timeout_ms",
    "redis_sync_interval_ms",
  ],
  litellm_settings: [
    ...Object.keys(litellmSettingsSchema.shape),
    "cache",
    "cache_params",
    // read by @llmux/prometheus (its other settings are prometheus_*: PLUGIN_SETTING in load-config.ts)
    "require_auth_for_metrics_endpoint",
  ],
  general_settings: Object.keys(generalSettingsSchema.shape),
} as const;
