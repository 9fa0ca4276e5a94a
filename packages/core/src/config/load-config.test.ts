import { describe, expect, it } from "vitest";
import { isConfigError } from "./config-error";
import { parseConfigYaml, resolveConfig } from "./load-config";

const YAML = `
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      api_base: https://api.openai.com/v1/
      rpm: "600"
      weight: 2
      order: 1
      timeout: 30
      stream_timeout: 10
      max_parallel_requests: 50
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001
    model_info: { id: gpt4o-east, base_model: gpt-4o, max_input_tokens: 128000 }
  - model_name: claude
    litellm_params: { model: bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0, aws_region_name: us-east-1 }
router_settings:
  routing_strategy: least-busy
  num_retries: 2
  retry_policy: { RateLimitErrorRetries: 3, BadRequestErrorRetries: 0 }
  allowed_fails: 3
  cooldown_time: 30
  timeout: 60
  fallbacks: [{ gpt-4o: [claude] }]
  default_fallbacks: [claude]
  max_fallbacks: 5
litellm_settings:
  callbacks: [console]
  turn_off_message_logging: true
general_settings:
  master_key: os.environ/LLMUX_MASTER_KEY
`;

describe("LiteLLM YAML config", () => {
  it("resolves os.environ/ references, converts units and keeps LiteLLM's keys", () => {
    const warnings: string[] = [];
    const config = parseConfigYaml(YAML, {
      env: { OPENAI_API_KEY: "sk-from-env", LLMUX_MASTER_KEY: "master-from-env" },
      warn: (message) => warnings.push(message),
    });
    expect(warnings).toEqual([]);
    const [gpt, claude] = config.deployments;
    expect(gpt).toMatchObject({
      id: "gpt4o-east",
      modelGroup: "gpt-4o",
      provider: "openai",
      model: "gpt-4o",
      apiKey: "sk-from-env",
      apiBase: "https://api.openai.com/v1",
      rpm: 600,
      weight: 2,
      order: 1,
      timeoutMs: 30_000,
      streamTimeoutMs: 10_000,
      maxParallelRequests: 50,
      maxInputTokens: 128000,
      baseModel: "gpt-4o",
      priceOverride: { input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001 },
    });
    expect(claude).toMatchObject({
      id: "claude-1",
      provider: "bedrock",
      model: "anthropic.claude-3-5-sonnet-20241022-v2:0",
      params: { aws_region_name: "us-east-1" },
    });
    expect(config.router).toMatchObject({
      routingStrategy: "least-busy",
      numRetries: 2,
      retryPolicy: { rate_limit: 3, bad_request: 0 },
      cooldownTimeMs: 30_000,
      timeoutMs: 60_000,
      fallbacks: { "gpt-4o": ["claude"] },
      defaultFallbacks: ["claude"],
    });
    expect(config.masterKey).toBe("master-from-env");
    expect(config.redact).toBe(true);
    expect(config.callbacks.all).toEqual(["console"]);
  });

  it("a missing environment variable is a start-up error naming the variable and the model", () => {
    let caught: unknown;
    try {
      parseConfigYaml(YAML, { env: { LLMUX_MASTER_KEY: "x" } });
    } catch (error) {
      caught = error;
    }
    expect(isConfigError(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain("OPENAI_API_KEY");
    expect(message).toContain("model 'gpt-4o'");
    expect(message).toContain("model_list[0].litellm_params.api_key");
  });

  it("a bad value names the key, the model and what was expected", () => {
    const bad = YAML.replace('rpm: "600"', "rpm: lots").replace(
      "api_base: https://api.openai.com/v1/",
      "api_base: not a url",
    );
    let caught: unknown;
    try {
      parseConfigYaml(bad, { env: { OPENAI_API_KEY: "k", LLMUX_MASTER_KEY: "m" } });
    } catch (error) {
      caught = error;
    }
    expect(isConfigError(caught)).toBe(true);
    const problems = (caught as { problems: string[] }).problems;
    expect(
      problems.some(
        (problem) =>
          problem.includes("model_list[0] (model 'gpt-4o').litellm_params.rpm") && /number/.test(problem),
      ),
    ).toBe(true);
    expect(
      problems.some((problem) => problem.includes("litellm_params.api_base") && problem.includes("URL")),
    ).toBe(true);
  });

  it("unknown keys are warned about, by name, and are not fatal", () => {
    const warnings: string[] = [];
    const config = resolveConfig(
      {
        model_list: [{ model_name: "m", litellm_params: { model: "mock/m", vertex_project: "p" } as never }],
        router_settings: { routing_strategy: "simple-shuffle", enable_magic: true } as never,
        litellm_settings: {
          prometheus_user_labels: true,
          otel_capture_content: false,
          mlflow_log_runs: true,
        } as never,
        surprise: 1,
      } as never,
      { env: {}, warn: (message) => warnings.push(message) },
    );
    expect(config.deployments).toHaveLength(1);
    expect(warnings).toEqual([
      "llmux config: unknown key 'surprise' is ignored",
      "llmux config: unknown key 'model_list[0] (model 'm').litellm_params.vertex_project' is ignored",
      "llmux config: unknown key 'router_settings.enable_magic' is ignored",
    ]);
  });

  it("rejects an unknown provider, a fallback to an unknown group and an unknown retry_policy key", () => {
    let caught: unknown;
    try {
      resolveConfig(
        {
          model_list: [{ model_name: "m", litellm_params: { model: "nosuch/m" } }],
          router_settings: { fallbacks: [{ m: ["ghost"] }], retry_policy: { SometimesRetries: 1 } },
        },
        { env: {} },
      );
    } catch (error) {
      caught = error;
    }
    const problems = (caught as { problems: string[] }).problems;
    expect(problems.join("\n")).toContain("unknown provider 'nosuch'");
    expect(problems.join("\n")).toContain("unknown model group 'ghost'");
    expect(problems.join("\n")).toContain("retry_policy.SometimesRetries");
  });

  it("invalid YAML is a config error, not a crash", () => {
    expect(() => parseConfigYaml("model_list: [unclosed", { env: {} })).toThrow(/not valid YAML/);
  });
});
