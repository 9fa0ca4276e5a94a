import { readFileSync } from "node:fs";
import type { PriceOverride } from "@llmux/pricing";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { RETRY_POLICY_KEYS } from "../errors/classify";
import { patternRegex } from "../router/wildcard-groups";
import { resolveRedisSettings } from "../state/redis-settings";
import { ConfigError } from "./config-error";
import { resolveEnvironmentReferences } from "./resolve-env";
import { configSchema, KNOWN_KEYS } from "./schema";
import type { Deployment, LlmuxConfig, ResolvedConfig, RouterSettings } from "./types";

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  /** Receives one warning per unknown key. */
  warn?: (message: string) => void;
}

export const PROVIDERS = [
  "openai",
  "azure",
  "anthropic",
  "bedrock",
  "ollama",
  "ollama_chat",
  "mock",
] as const;

/** Reads a LiteLLM-style YAML file and resolves it. */
export function loadConfigFile(path: string, options: LoadConfigOptions = {}): ResolvedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as Error).message}`]);
  }
  return parseConfigYaml(text, options, path);
}

export function parseConfigYaml(
  text: string,
  options: LoadConfigOptions = {},
  source = "config",
): ResolvedConfig {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new ConfigError([`${source} is not valid YAML: ${(error as Error).message}`]);
  }
  return resolveConfig(data as LlmuxConfig, options);
}

/** Validates a config object (TypeScript or parsed YAML), resolves `os.environ/` and applies defaults. */
export function resolveConfig(input: LlmuxConfig, options: LoadConfigOptions = {}): ResolvedConfig {
  // environment_variables (LiteLLM sets them in os.environ): here they serve the config's own
  // os.environ/ references and win over the process environment; process.env is never written.
  const fromConfig = (input as { environment_variables?: unknown }).environment_variables;
  const env =
    fromConfig && typeof fromConfig === "object"
      ? { ...(options.env ?? process.env), ...(fromConfig as Record<string, string>) }
      : (options.env ?? process.env);
  const warn = options.warn ?? ((message: string) => process.emitWarning(message, "LlmuxConfigWarning"));
  const problems: string[] = [];
  const resolved = resolveEnvironmentReferences(input, env, problems) as LlmuxConfig;
  const parsed = configSchema.safeParse(resolved);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(describeIssue(issue, resolved));
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const config = parsed.data;
  for (const message of unknownKeys(config)) warn(message);

  const deployments: Deployment[] = config.model_list.map((entry, index) => {
    const params = { ...entry.litellm_params } as Record<string, unknown>;
    const slash = entry.litellm_params.model.indexOf("/");
    const provider = entry.litellm_params.model.slice(0, slash);
    const model = entry.litellm_params.model.slice(slash + 1);
    if (!(PROVIDERS as readonly string[]).includes(provider)) {
      problems.push(
        `model_list[${index}] (model '${entry.model_name}').litellm_params.model: unknown provider '${provider}', expected one of ${PROVIDERS.join(", ")}`,
      );
    }
    const takes = (key: string): unknown => {
      const value = params[key];
      delete params[key];
      return value;
    };
    takes("model");
    const priceOverride: PriceOverride = {};
    for (const key of [
      "input_cost_per_token",
      "output_cost_per_token",
      "cache_read_input_token_cost",
      "cache_creation_input_token_cost",
      "output_cost_per_reasoning_token",
      "input_cost_per_token_above_200k_tokens",
      "output_cost_per_token_above_200k_tokens",
    ] as const) {
      const value = takes(key);
      if (typeof value === "number") priceOverride[key] = value;
    }
    const wildcard = entry.model_name.includes("*");
    if (model.includes("*") && !wildcard) {
      problems.push(
        `model_list[${index}] (model '${entry.model_name}').litellm_params.model: '${entry.litellm_params.model}' has a '*' but model_name has none; write model_name as a pattern, e.g. '${provider}/*' or '*'`,
      );
    }
    const info = entry.model_info ?? {};
    // LiteLLM also reads prices from model_info; litellm_params wins.
    for (const key of ["input_cost_per_token", "output_cost_per_token"] as const) {
      const value = (info as Record<string, unknown>)[key];
      if (typeof value === "number" && priceOverride[key] === undefined) priceOverride[key] = value;
    }
    for (const key of INFORMATIONAL_MODEL_INFO) {
      if ((info as Record<string, unknown>)[key] !== undefined)
        warn(
          `llmux config: 'model_list[${index}] (model '${entry.model_name}').model_info.${key}' is informational: llmux accepts it and does not use it`,
        );
    }
    const dropParams = takes("drop_params");
    const additionalDropParams = takes("additional_drop_params");
    const deployment: Deployment = {
      id: info.id ?? `${entry.model_name}-${index}`,
      modelGroup: entry.model_name,
      provider,
      model,
      order: (takes("order") as number | undefined) ?? 0,
      params,
    };
    if (wildcard) deployment.wildcard = true;
    assignDefined(deployment, {
      apiKey: takes("api_key") as string | undefined,
      apiBase: (takes("api_base") as string | undefined)?.replace(/\/+$/, ""),
      apiVersion: takes("api_version") as string | undefined,
      timeoutMs: seconds(takes("timeout")),
      streamTimeoutMs: seconds(takes("stream_timeout")),
      rpm: takes("rpm") as number | undefined,
      tpm: takes("tpm") as number | undefined,
      weight: takes("weight") as number | undefined,
      maxParallelRequests: takes("max_parallel_requests") as number | undefined,
      maxInputTokens: info.max_input_tokens,
      baseModel: info.base_model,
      priceOverride: Object.keys(priceOverride).length > 0 ? priceOverride : undefined,
      dropParams: typeof dropParams === "boolean" ? dropParams : undefined,
      additionalDropParams: Array.isArray(additionalDropParams)
        ? (additionalDropParams as string[])
        : undefined,
    });
    return deployment;
  });
  const ids = new Set<string>();
  for (const deployment of deployments) {
    if (ids.has(deployment.id))
      problems.push(`model_info.id '${deployment.id}' is used by more than one deployment`);
    ids.add(deployment.id);
  }

  const router = resolveRouterSettings(config, deployments, problems, warn);
  if (problems.length > 0) throw new ConfigError(problems);

  const litellm = config.litellm_settings ?? {};
  const general = config.general_settings ?? {};
  const result: ResolvedConfig = {
    deployments,
    router,
    callbacks: {
      all: litellm.callbacks ?? [],
      success: litellm.success_callback ?? [],
      failure: litellm.failure_callback ?? [],
    },
    redact: litellm.turn_off_message_logging ?? false,
    maxRequestBytes: Math.round((general.max_request_size_mb ?? 10) * 1024 * 1024),
    allowClientSideCredentials: general.allow_client_side_credentials ?? false,
    dropParams: litellm.drop_params ?? false,
    litellmSettings: litellm,
    generalSettings: general,
  };
  assignDefined(result, {
    masterKey: general.master_key,
    environment: general.environment,
    release: general.release,
    redis: resolveRedisSettings(config.router_settings ?? {}, env),
  });
  return result;
}

type ParsedConfig = z.output<typeof configSchema>;

function resolveRouterSettings(
  config: ParsedConfig,
  deployments: Deployment[],
  problems: string[],
  warn: (message: string) => void,
): RouterSettings {
  const settings = config.router_settings ?? {};
  const litellm = config.litellm_settings ?? {};
  const groups = new Set(
    deployments.filter((deployment) => !deployment.wildcard).map((deployment) => deployment.modelGroup),
  );
  const patterns = [
    ...new Set(deployments.filter((deployment) => deployment.wildcard).map((d) => d.modelGroup)),
  ].map(patternRegex);
  const isGroup = (name: string) => groups.has(name) || patterns.some((pattern) => pattern.test(name));
  const alias: Record<string, string> = {};
  const hiddenAliases: string[] = [];
  // litellm_settings.model_group_alias first, router_settings.model_group_alias wins.
  for (const [name, target] of Object.entries({
    ...(litellm.model_group_alias ?? {}),
    ...(settings.model_group_alias ?? {}),
  })) {
    alias[name] = typeof target === "string" ? target : target.model;
    if (typeof target === "object" && target.hidden === true) hiddenAliases.push(name);
  }
  const isKnown = (group: string) => isGroup(group) || group in alias;
  const flatten = (key: string, ...lists: Array<Array<Record<string, string[]>> | undefined>) => {
    const map: Record<string, string[]> = {};
    for (const [listIndex, list] of lists.entries()) {
      const section = listIndex === 0 ? "litellm_settings" : "router_settings";
      for (const entry of list ?? []) {
        for (const [from, targets] of Object.entries(entry)) {
          for (const target of targets) {
            if (!isKnown(target))
              problems.push(`${section}.${key}: '${from}' falls back to unknown model group '${target}'`);
          }
          map[from] = targets;
        }
      }
    }
    return map;
  };
  const retryPolicy: Record<string, number> = {};
  for (const [key, value] of Object.entries(settings.retry_policy ?? {})) {
    const kind = RETRY_POLICY_KEYS[key];
    if (!kind)
      problems.push(
        `router_settings.retry_policy.${key}: unknown key, expected one of ${Object.keys(RETRY_POLICY_KEYS).join(", ")}`,
      );
    else retryPolicy[kind] = value;
  }
  const router: RouterSettings = {
    routingStrategy: settings.routing_strategy ?? "simple-shuffle",
    numRetries: settings.num_retries ?? config.litellm_settings?.num_retries ?? 2,
    retryPolicy,
    allowedFails: settings.allowed_fails ?? 3,
    cooldownTimeMs: (settings.cooldown_time ?? 5) * 1000,
    timeoutMs: (settings.timeout ?? config.litellm_settings?.request_timeout ?? 600) * 1000,
    fallbacks: flatten("fallbacks", litellm.fallbacks, settings.fallbacks),
    contextWindowFallbacks: flatten(
      "context_window_fallbacks",
      litellm.context_window_fallbacks,
      settings.context_window_fallbacks,
    ),
    contentPolicyFallbacks: flatten(
      "content_policy_fallbacks",
      litellm.content_policy_fallbacks,
      settings.content_policy_fallbacks,
    ),
    defaultFallbacks: settings.default_fallbacks ?? litellm.default_fallbacks ?? [],
    maxFallbacks: settings.max_fallbacks ?? 5,
    modelGroupAlias: alias,
    retryAfterFloorMs: (settings.retry_after ?? 0.05) * 1000,
    maxParallelWaitMs: (settings.max_parallel_wait ?? 5) * 1000,
    maxRetryWaitMs: 10_000,
  };
  if (hiddenAliases.length > 0) router.hiddenAliases = hiddenAliases;
  if (settings.enable_pre_call_checks !== undefined) router.preCallChecks = settings.enable_pre_call_checks;
  if (settings.routing_strategy_args) {
    router.strategyArgs = settings.routing_strategy_args;
    for (const key of Object.keys(settings.routing_strategy_args)) {
      if (!ROUTING_STRATEGY_ARGS.includes(key))
        warn(
          `llmux config: 'router_settings.routing_strategy_args.${key}' is not used (llmux reads ${ROUTING_STRATEGY_ARGS.join(", ")})`,
        );
    }
  }
  const streamTimeoutMs = seconds(settings.stream_timeout);
  if (streamTimeoutMs !== undefined) router.streamTimeoutMs = streamTimeoutMs;
  for (const target of router.defaultFallbacks) {
    if (!isKnown(target)) problems.push(`router_settings.default_fallbacks: unknown model group '${target}'`);
  }
  for (const [name, target] of Object.entries(alias)) {
    if (!isGroup(target)) problems.push(`model_group_alias.${name}: unknown model group '${target}'`);
  }
  return router;
}

function seconds(value: unknown): number | undefined {
  return typeof value === "number" ? value * 1000 : undefined;
}

function assignDefined<T extends object>(target: T, values: Partial<T>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  }
}

function describeIssue(issue: z.core.$ZodIssue, input: LlmuxConfig): string {
  const path = issue.path
    .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
    .join("")
    .replace(/^\./, "");
  let where = path || "(root)";
  if (issue.path[0] === "model_list" && typeof issue.path[1] === "number") {
    const entry = (input as { model_list?: Array<{ model_name?: unknown }> }).model_list?.[issue.path[1]];
    if (entry && typeof entry.model_name === "string") {
      where = `model_list[${issue.path[1]}] (model '${entry.model_name}')${path.slice(`model_list[${issue.path[1]}]`.length)}`;
    }
  }
  let received = "";
  if (issue.code === "invalid_type") {
    const value = issue.path.reduce<unknown>(
      (current, key) =>
        current && typeof current === "object"
          ? (current as Record<PropertyKey, unknown>)[key as PropertyKey]
          : undefined,
      input,
    );
    received = `, got ${value === undefined ? "nothing" : JSON.stringify(value)}`;
  }
  return `${where}: ${issue.message}${received}`;
}

function* unknownKeys(config: ParsedConfig): Generator<string> {
  yield* unknownIn(config, KNOWN_KEYS.root, "");
  for (const [index, entry] of config.model_list.entries()) {
    const prefix = `model_list[${index}] (model '${entry.model_name}')`;
    yield* unknownIn(entry, KNOWN_KEYS.deployment, prefix);
    yield* unknownIn(entry.litellm_params, KNOWN_KEYS.litellm_params, `${prefix}.litellm_params`);
    if (entry.model_info) yield* unknownIn(entry.model_info, KNOWN_KEYS.model_info, `${prefix}.model_info`);
  }
  if (config.router_settings)
    yield* unknownIn(config.router_settings, KNOWN_KEYS.router_settings, "router_settings");
  if (config.litellm_settings) {
    // Plugin settings live here too, as in LiteLLM (prometheus_user_labels, mlflow_log_runs, otel_capture_content...).
    const settings = Object.fromEntries(
      Object.entries(config.litellm_settings).filter(([key]) => !PLUGIN_SETTING.test(key)),
    );
    yield* unknownIn(settings, KNOWN_KEYS.litellm_settings, "litellm_settings");
  }
  if (config.general_settings)
    yield* unknownIn(config.general_settings, KNOWN_KEYS.general_settings, "general_settings");
}

/** model_info keys LiteLLM shows in its UI and /model/info; llmux names them instead of using them. */
const INFORMATIONAL_MODEL_INFO = [
  "max_output_tokens",
  "max_tokens",
  "mode",
  "supports_vision",
  "supports_function_calling",
  "description",
] as const;

/** routing_strategy_args keys the strategies read. */
const ROUTING_STRATEGY_ARGS = ["lowest_latency_buffer"];

const PLUGIN_SETTING = /^(prometheus|mlflow|otel|langfuse)_/;

function* unknownIn(section: object, known: readonly string[], prefix: string): Generator<string> {
  for (const key of Object.keys(section)) {
    if (!known.includes(key)) {
      yield `llmux config: unknown key '${prefix ? `${prefix}.` : ""}${key}' is ignored`;
    }
  }
}
