/**
 * Every key the loader accepts (KNOWN_KEYS, built from the zod schema) is honoured or named: set on a
 * minimal config, each one either changes the resolved config (routing, pricing, limits, callbacks,
 * auth), is read at call time by the source files listed here (provider parameters), or produces a
 * warning that names it. None is accepted silently. A key added to the loader without an entry here
 * fails the first test. Call-time behaviour of the LiteLLM keys of issue 15 is tested end to end in
 * litellm-keys.test.ts.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "./load-config";
import { KNOWN_KEYS } from "./schema";
import type { LlmuxConfig, ResolvedConfig } from "./types";

type Section = keyof typeof KNOWN_KEYS;
type Proof =
  /**
   * Setting the key changes the resolved config (raw pass-through copies excluded); `with` are keys
   * of the same section set in both configs (redis_port means something only with a host).
   */
  | { resolved: unknown; with?: Record<string, unknown> }
  /** A warning names the key. */
  | { warns: unknown }
  /** Read at call time: each file reads the key (by name). */
  | { readBy: string[]; sample: unknown }
  /** A section of keys, each walked on its own. */
  | "section"
  /**
   * litellm_settings.cache / cache_params: the response cache of @llmux/redis (issue 13) reads them;
   * until it does, a warning names them. Either proof passes; silence fails.
   */
  | { warnsUntilHonoured: unknown };

/** A core source file (relative to core/src), or another package's ("packages/<name>/..."). */
const source = (path: string) =>
  path.startsWith("packages/")
    ? readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", path), "utf8")
    : readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", path), "utf8");

const PROOFS: Record<Section, Record<string, Proof>> = {
  root: {
    model_list: "section",
    router_settings: "section",
    litellm_settings: "section",
    general_settings: "section",
    environment_variables: { resolved: { OTHER_KEY: "from-config" } },
  },
  deployment: {
    model_name: "section",
    litellm_params: "section",
    model_info: "section",
  },
  litellm_params: {
    model: { resolved: "openai/gpt-4o" },
    api_key: { resolved: "sk-x" },
    api_base: { resolved: "http://127.0.0.1:9/v1" },
    api_version: { resolved: "2024-10-21" },
    organization: { readBy: ["providers/openai/openai-provider.ts"], sample: "org-1" },
    rpm: { resolved: 10 },
    tpm: { resolved: 1000 },
    weight: { resolved: 2 },
    order: { resolved: 1 },
    timeout: { resolved: 5 },
    stream_timeout: { resolved: 5 },
    max_parallel_requests: { resolved: 3 },
    input_cost_per_token: { resolved: 1e-6 },
    output_cost_per_token: { resolved: 1e-6 },
    cache_read_input_token_cost: { resolved: 1e-7 },
    cache_creation_input_token_cost: { resolved: 1e-7 },
    output_cost_per_reasoning_token: { resolved: 1e-6 },
    input_cost_per_token_above_200k_tokens: { resolved: 1e-6 },
    output_cost_per_token_above_200k_tokens: { resolved: 1e-6 },
    aws_region_name: { readBy: ["providers/bedrock/bedrock-signer.ts"], sample: "us-east-1" },
    aws_access_key_id: { readBy: ["providers/bedrock/bedrock-signer.ts"], sample: "AKID" },
    aws_secret_access_key: { readBy: ["providers/bedrock/bedrock-signer.ts"], sample: "secret" },
    aws_session_token: { readBy: ["providers/bedrock/bedrock-signer.ts"], sample: "token" },
    aws_profile_name: { readBy: ["providers/aws/aws-credentials.ts"], sample: "team" },
    aws_role_name: { readBy: ["providers/aws/aws-credentials.ts"], sample: "arn:aws:iam::1:role/r" },
    aws_session_name: { readBy: ["providers/aws/aws-credentials.ts"], sample: "llmux" },
    aws_web_identity_token: { readBy: ["providers/aws/aws-credentials.ts"], sample: "jwt" },
    aws_sts_endpoint: { readBy: ["providers/aws/aws-credentials.ts"], sample: "http://127.0.0.1:1" },
    azure_ad_token: { readBy: ["providers/azure/azure-provider.ts"], sample: "ad-token" },
    mock_response: { readBy: ["providers/mock/mock-provider.ts"], sample: "hi" },
    mock_latency_ms: { readBy: ["providers/mock/mock-provider.ts"], sample: 5 },
    extra_headers: {
      readBy: [
        "providers/openai/openai-provider.ts",
        "providers/azure/azure-provider.ts",
        "providers/anthropic/anthropic-provider.ts",
        "providers/bedrock/bedrock-provider.ts",
        "providers/ollama/ollama-provider.ts",
      ],
      sample: { "x-a": "b" },
    },
    drop_params: { resolved: true },
    additional_drop_params: { resolved: ["user"] },
    max_tokens: { readBy: ["providers/anthropic/anthropic-provider.ts"], sample: 512 },
    anthropic_version: { readBy: ["providers/anthropic/anthropic-provider.ts"], sample: "2023-06-01" },
    anthropic_beta: { readBy: ["providers/anthropic/anthropic-provider.ts"], sample: "beta-1" },
    responses_api: { readBy: ["providers/openai/openai-responses.ts"], sample: "native" },
    aws_bedrock_runtime_endpoint: { readBy: ["providers/bedrock/bedrock-model.ts"], sample: "http://x" },
    keep_alive: { readBy: ["providers/ollama/ollama-provider.ts"], sample: "5m" },
    options: { readBy: ["providers/ollama/ollama-provider.ts"], sample: { num_ctx: 4096 } },
  },
  model_info: {
    id: { resolved: "my-id" },
    base_model: { resolved: "gpt-4o" },
    max_input_tokens: { resolved: 1000 },
    input_cost_per_token: { resolved: 1e-6 },
    output_cost_per_token: { resolved: 1e-6 },
    max_output_tokens: { warns: 100 },
    max_tokens: { warns: 100 },
    mode: { warns: "chat" },
    supports_vision: { warns: true },
    supports_function_calling: { warns: true },
    description: { warns: "a model" },
  },
  router_settings: {
    routing_strategy: { resolved: "least-busy" },
    num_retries: { resolved: 5 },
    retry_policy: { resolved: { RateLimitErrorRetries: 4 } },
    allowed_fails: { resolved: 9 },
    cooldown_time: { resolved: 9 },
    timeout: { resolved: 9 },
    stream_timeout: { resolved: 9 },
    fallbacks: { resolved: [{ m: ["n"] }] },
    context_window_fallbacks: { resolved: [{ m: ["n"] }] },
    content_policy_fallbacks: { resolved: [{ m: ["n"] }] },
    default_fallbacks: { resolved: ["n"] },
    max_fallbacks: { resolved: 1 },
    model_group_alias: { resolved: { alias: "m" } },
    enable_pre_call_checks: { resolved: true },
    retry_after: { resolved: 1 },
    max_parallel_wait: { resolved: 1 },
    routing_strategy_args: { resolved: { lowest_latency_buffer: 0.5 } },
    redis_host: { resolved: "127.0.0.1" },
    redis_url: { resolved: "redis://127.0.0.1:6379" },
    redis_port: { resolved: 6380, with: { redis_host: "127.0.0.1" } },
    redis_password: { resolved: "secret", with: { redis_host: "127.0.0.1" } },
    redis_username: { resolved: "me", with: { redis_host: "127.0.0.1" } },
    redis_ssl: { resolved: true, with: { redis_host: "127.0.0.1" } },
    redis_ssl_ca_certs: { resolved: "/etc/ssl/private-ca.pem", with: { redis_host: "127.0.0.1" } },
    redis_key_prefix: { resolved: "mine:", with: { redis_host: "127.0.0.1" } },
    redis_timeout_ms: { resolved: 20, with: { redis_host: "127.0.0.1" } },
    redis_sync_interval_ms: { resolved: 500, with: { redis_host: "127.0.0.1" } },
  },
  litellm_settings: {
    callbacks: { resolved: ["console"] },
    success_callback: { resolved: ["console"] },
    failure_callback: { resolved: ["console"] },
    turn_off_message_logging: { resolved: true },
    drop_params: { resolved: true },
    num_retries: { resolved: 5 },
    request_timeout: { resolved: 9 },
    fallbacks: { resolved: [{ m: ["n"] }] },
    context_window_fallbacks: { resolved: [{ m: ["n"] }] },
    content_policy_fallbacks: { resolved: [{ m: ["n"] }] },
    default_fallbacks: { resolved: ["n"] },
    model_group_alias: { resolved: { alias: "m" } },
    // read by the response cache when the gateway starts (it needs the resolved Redis and the environment)
    cache: { readBy: ["cache/cache-settings.ts"], sample: true },
    cache_params: { readBy: ["cache/cache-settings.ts"], sample: { type: "local", ttl: 60 } },
    require_auth_for_metrics_endpoint: {
      readBy: ["packages/prometheus/src/create-plugin.ts"],
      sample: true,
    },
  },
  general_settings: {
    master_key: { resolved: "sk-master" },
    max_request_size_mb: { resolved: 1 },
    allow_client_side_credentials: { resolved: true },
    environment: { resolved: "prod" },
    release: { resolved: "1.2.3" },
    jsonl_path: { readBy: ["gateway/load-plugins.ts"], sample: "/tmp/calls.jsonl" },
    // Passed to @llmux/control (loaded by load-plugins.ts when a database is named), which reads them.
    database_url: { readBy: ["gateway/load-plugins.ts"], sample: "postgres://127.0.0.1:9/llmux" },
    key_store: { readBy: ["gateway/load-plugins.ts"], sample: "memory://" },
    user_api_key_cache_ttl: { readBy: ["gateway/load-plugins.ts"], sample: 10 },
    proxy_batch_write_at: { readBy: ["gateway/load-plugins.ts"], sample: 1 },
    maximum_spend_logs_retention_period: { readBy: ["gateway/load-plugins.ts"], sample: "90d" },
  },
};

function baseConfig(): LlmuxConfig {
  return {
    model_list: [
      { model_name: "m", litellm_params: { model: "mock/echo" } },
      { model_name: "n", litellm_params: { model: "mock/echo" } },
    ],
  } as LlmuxConfig;
}

function withKey(
  section: Section,
  key: string | undefined,
  value: unknown,
  extra: Record<string, unknown> = {},
): LlmuxConfig {
  const config = baseConfig() as Record<string, unknown> & { model_list: Array<Record<string, unknown>> };
  const first = config.model_list[0] as Record<string, Record<string, unknown>>;
  if (key === undefined) {
    if (Object.keys(extra).length > 0) config[section] = { ...extra };
    return config as LlmuxConfig;
  }
  if (section === "root") config[key] = value;
  else if (section === "deployment") (first as Record<string, unknown>)[key] = value;
  else if (section === "litellm_params") first.litellm_params![key] = value;
  else if (section === "model_info") first.model_info = { [key]: value };
  else config[section] = { ...extra, ...(key === undefined ? {} : { [key]: value }) };
  if (key === undefined) return config as LlmuxConfig;
  if (key === "environment_variables") first.litellm_params!.api_key = "os.environ/OTHER_KEY"; // the variable is read by a reference
  return config as LlmuxConfig;
}

/** The resolved config without the raw copies (params, litellmSettings, generalSettings). */
function structured(config: ResolvedConfig): string {
  const { litellmSettings: _l, generalSettings: _g, ...rest } = config;
  return JSON.stringify({
    ...rest,
    deployments: rest.deployments.map(({ params: _p, ...deployment }) => deployment),
  });
}

function resolve(config: LlmuxConfig): { resolved: ResolvedConfig; warnings: string[] } {
  const warnings: string[] = [];
  const resolved = resolveConfig(config, { env: { OTHER_KEY: "from-env" }, warn: (m) => warnings.push(m) });
  return { resolved, warnings };
}

describe("every key the loader accepts is honoured or named", () => {
  it("the table covers exactly KNOWN_KEYS (a new key needs a proof)", () => {
    for (const section of Object.keys(KNOWN_KEYS) as Section[]) {
      expect(Object.keys(PROOFS[section]).sort(), section).toEqual([...new Set(KNOWN_KEYS[section])].sort());
    }
  });

  const baseline = resolve(baseConfig());
  for (const section of Object.keys(PROOFS) as Section[]) {
    for (const [key, proof] of Object.entries(PROOFS[section])) {
      if (proof === "section") continue;
      it(`${section}.${key}`, () => {
        if ("readBy" in proof) {
          // Kept for the provider: the deployment carries it and the provider source reads it by name.
          const { resolved, warnings } = resolve(withKey(section, key, proof.sample));
          expect(warnings.filter((warning) => warning.includes(key))).toEqual([]);
          if (section === "litellm_params")
            expect(resolved.deployments[0]!.params[key]).toEqual(proof.sample);
          for (const file of proof.readBy) expect(source(file), `${file} reads ${key}`).toContain(key);
          return;
        }
        const value =
          "resolved" in proof ? proof.resolved : "warns" in proof ? proof.warns : proof.warnsUntilHonoured;
        const extra = "with" in proof ? (proof.with ?? {}) : {};
        const { resolved, warnings } = resolve(withKey(section, key, value, extra));
        const before =
          Object.keys(extra).length > 0 ? resolve(withKey(section, undefined, undefined, extra)) : baseline;
        const named = warnings.filter((warning) => warning.includes(key));
        const changed = structured(resolved) !== structured(before.resolved);
        if ("resolved" in proof) {
          expect(named, `no warning for ${key}`).toEqual([]);
          expect(changed, `${section}.${key} changes the resolved config`).toBe(true);
        } else if ("warns" in proof) {
          expect(named.length, `a warning names ${key}`).toBeGreaterThan(0);
        } else {
          // cache, cache_params: honoured (changes the config) or named (a warning) until the cache reads them.
          expect(changed || named.length > 0, `${key} is honoured or named`).toBe(true);
        }
      });
    }
  }

  it("environment_variables serve os.environ/ references and win over the process environment", () => {
    const { resolved } = resolve(withKey("root", "environment_variables", { OTHER_KEY: "from-config" }));
    expect(resolved.deployments[0]!.apiKey).toBe("from-config");
  });

  it("an unknown key is named too", () => {
    const { warnings } = resolve({ ...baseConfig(), router_settings: { no_such_key: 1 } } as LlmuxConfig);
    expect(warnings).toEqual(["llmux config: unknown key 'router_settings.no_such_key' is ignored"]);
  });
});
