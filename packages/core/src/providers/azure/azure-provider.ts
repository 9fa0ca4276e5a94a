import type { Deployment } from "../../config/types";
import { LlmuxError } from "../../errors/llmux-error";
import { createOpenAiProvider, type OpenAiTarget } from "../openai/openai-provider";
import type { Provider, ProviderCall } from "../types";

/** The GA api-version used when neither the deployment nor AZURE_API_VERSION sets one. */
export const DEFAULT_AZURE_API_VERSION = "2024-10-21";

/**
 * Azure OpenAI (`azure/{deployment-name}`): the OpenAI provider with Azure's URLs and auth.
 * `{api_base}/openai/deployments/{deployment}/{operation}?api-version=...`, authenticated with the
 * `api-key` header or, with `azure_ad_token`, an Entra ID bearer token. Streams are OpenAI SSE, so
 * decoding, usage and errors are the OpenAI provider's.
 */
export const azureTarget: OpenAiTarget = {
  url: (call, operation) => {
    const base = azureBase(call.deployment);
    const version = call.deployment.apiVersion ?? process.env.AZURE_API_VERSION ?? DEFAULT_AZURE_API_VERSION;
    // A base that already names the v1 API (".../openai/v1") takes OpenAI paths and no api-version.
    if (/\/openai\/v1$/.test(base)) return `${base}/${operation}`;
    return `${base}/openai/deployments/${encodeURIComponent(call.deployment.model)}/${operation}?api-version=${encodeURIComponent(version)}`;
  },
  headers: (call) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const token = adToken(call);
    if (token) headers.authorization = `Bearer ${token}`;
    else {
      const apiKey = call.deployment.apiKey ?? process.env.AZURE_API_KEY ?? process.env.AZURE_OPENAI_API_KEY;
      if (apiKey) headers["api-key"] = apiKey;
    }
    const extra = call.deployment.params.extra_headers as Record<string, string> | undefined;
    if (extra) Object.assign(headers, extra);
    return headers;
  },
  model: (call) => call.deployment.model,
};

function azureBase(deployment: Deployment): string {
  const base = deployment.apiBase ?? process.env.AZURE_API_BASE ?? process.env.AZURE_OPENAI_ENDPOINT;
  if (!base) {
    throw new LlmuxError({
      kind: "internal",
      message: `Deployment '${deployment.id}' (azure/${deployment.model}) needs api_base, e.g. https://my-resource.openai.azure.com`,
      provider: "azure",
      deploymentId: deployment.id,
      code: "missing_api_base",
    });
  }
  // A base given with the /openai suffix works too.
  return base.replace(/\/+$/, "").replace(/\/openai$/, "");
}

function adToken(call: ProviderCall): string | undefined {
  const token = call.deployment.params.azure_ad_token ?? process.env.AZURE_AD_TOKEN;
  return typeof token === "string" && token.length > 0 ? token : undefined;
}

export function createAzureProvider(name = "azure"): Provider {
  return createOpenAiProvider(name, azureTarget);
}
