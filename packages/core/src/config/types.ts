import type { PriceOverride } from "@llmux/pricing";
import type { z } from "zod";
import type { RedisSettings } from "../state/redis-settings";
import type { configSchema, routingStrategySchema } from "./schema";

/** The configuration object, in LiteLLM's proxy-config keys (the same shape as the YAML file). */
export type LlmuxConfig = z.input<typeof configSchema>;
export type RoutingStrategyName = z.infer<typeof routingStrategySchema>;

/** One deployment after validation and environment resolution. */
export interface Deployment {
  /** model_info.id, else `${modelGroup}-${index}`. */
  id: string;
  modelGroup: string;
  /** Provider prefix: openai, azure, anthropic, bedrock, ollama, ollama_chat, mock. */
  provider: string;
  /** Model name without the provider prefix. */
  model: string;
  apiKey?: string;
  apiBase?: string;
  apiVersion?: string;
  timeoutMs?: number;
  streamTimeoutMs?: number;
  rpm?: number;
  tpm?: number;
  weight?: number;
  order: number;
  maxParallelRequests?: number;
  maxInputTokens?: number;
  baseModel?: string;
  priceOverride?: PriceOverride;
  /** litellm_params.drop_params: wins over litellm_settings.drop_params for this deployment. */
  dropParams?: boolean;
  /** litellm_params.additional_drop_params: body keys never sent to this deployment. */
  additionalDropParams?: string[];
  /**
   * A wildcard deployment (`model_name: "openai/*"`, `litellm_params.model: "openai/*"`): `modelGroup`
   * is the pattern and `model` the template; the router makes a concrete deployment per model name.
   */
  wildcard?: boolean;
  /** Remaining litellm_params (aws_region_name, mock_response, extra_headers, ...). */
  params: Record<string, unknown>;
}

export interface RouterSettings {
  routingStrategy: RoutingStrategyName;
  numRetries: number;
  retryPolicy: Record<string, number>;
  allowedFails: number;
  cooldownTimeMs: number;
  timeoutMs: number;
  streamTimeoutMs?: number;
  fallbacks: Record<string, string[]>;
  contextWindowFallbacks: Record<string, string[]>;
  contentPolicyFallbacks: Record<string, string[]>;
  defaultFallbacks: string[];
  maxFallbacks: number;
  modelGroupAlias: Record<string, string>;
  /** Aliases written `{ model, hidden: true }`: routed, not listed by /v1/models. */
  hiddenAliases?: string[];
  /**
   * enable_pre_call_checks: true also checks the context window the price files give (when
   * model_info.max_input_tokens is not set); false checks nothing before the call; unset checks
   * model_info.max_input_tokens only.
   */
  preCallChecks?: boolean;
  /** routing_strategy_args (lowest_latency_buffer for latency-based-routing). */
  strategyArgs?: Record<string, unknown>;
  /** Floor of the exponential backoff between retries on the same group. */
  retryAfterFloorMs: number;
  /** Longest wait for a free slot when every deployment is at max_parallel_requests. */
  maxParallelWaitMs: number;
  /** Longest retry-after the router waits out; longer ones move on to a fallback. */
  maxRetryWaitMs: number;
}

export interface ResolvedConfig {
  deployments: Deployment[];
  router: RouterSettings;
  callbacks: { all: string[]; success: string[]; failure: string[] };
  redact: boolean;
  masterKey?: string;
  maxRequestBytes: number;
  allowClientSideCredentials: boolean;
  /** litellm_settings.drop_params: drop the OpenAI parameters a provider does not take instead of a 400. */
  dropParams: boolean;
  environment?: string;
  release?: string;
  /** The shared Redis (router_settings.redis_* or REDIS_* in the environment), when configured. */
  redis?: RedisSettings;
  /** litellm_settings as given, for plugin-specific keys. */
  litellmSettings: Record<string, unknown>;
  generalSettings: Record<string, unknown>;
}
