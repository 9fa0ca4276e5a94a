import type { Deployment } from "../config/types";
import { LlmuxError } from "../errors/llmux-error";

/** OpenAI chat parameters no provider translation maps (the OpenAI-compatible ones pass everything on). */
const NEVER_TRANSLATED = [
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "modalities",
  "audio",
  "prediction",
  "service_tier",
  "store",
  "web_search_options",
  "verbosity",
  "prompt_cache_key",
  "safety_identifier",
];

/**
 * The OpenAI chat parameters each translating provider does not take (what its request translation
 * never reads). OpenAI, Azure and the mock forward the body as it is: the upstream decides.
 */
export const UNSUPPORTED_PARAMS: Record<string, readonly string[]> = {
  anthropic: [...NEVER_TRANSLATED, "frequency_penalty", "presence_penalty", "seed"],
  bedrock: [
    ...NEVER_TRANSLATED,
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "user",
    "parallel_tool_calls",
  ],
  ollama: [...NEVER_TRANSLATED, "n", "user", "parallel_tool_calls"],
  ollama_chat: [...NEVER_TRANSLATED, "n", "user", "parallel_tool_calls"],
};

/**
 * The chat body one deployment receives, as LiteLLM's `drop_params` does it: parameters the provider
 * does not take are dropped when drop_params is on (litellm_params wins over litellm_settings), and
 * are a 400 naming them otherwise; `additional_drop_params` are always removed. Returns the body
 * itself when nothing changes.
 */
export function paramsForDeployment<T extends Record<string, unknown>>(
  body: T,
  deployment: Deployment,
  dropParamsSetting: boolean,
): T {
  let copy: Record<string, unknown> | undefined;
  for (const key of deployment.additionalDropParams ?? []) {
    if (key in body) {
      copy ??= { ...body };
      delete copy[key];
    }
  }
  const unsupported = UNSUPPORTED_PARAMS[deployment.provider];
  if (!unsupported) return (copy ?? body) as T;
  const present = unsupported.filter(
    (key) => (copy ?? body)[key] !== undefined && (copy ?? body)[key] !== null,
  );
  if (present.length === 0) return (copy ?? body) as T;
  const drop = deployment.dropParams ?? dropParamsSetting;
  if (!drop) {
    throw new LlmuxError({
      kind: "bad_request",
      message: `${deployment.provider} does not support parameters: ${present.join(", ")} (model group '${deployment.modelGroup}'). To drop them, set litellm_settings.drop_params: true (or litellm_params.drop_params on the deployment)`,
      param: present[0]!,
      provider: deployment.provider,
      code: "unsupported_params",
    });
  }
  copy ??= { ...body };
  for (const key of present) delete copy[key];
  return copy as T;
}
