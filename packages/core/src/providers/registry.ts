import { LlmuxError } from "../errors/llmux-error";
import { createAnthropicProvider } from "./anthropic/anthropic-provider";
import { createAzureProvider } from "./azure/azure-provider";
import { createBedrockProvider } from "./bedrock/bedrock-provider";
import { createMockProvider } from "./mock/mock-provider";
import { createOllamaProvider } from "./ollama/ollama-provider";
import { createOpenAiProvider } from "./openai/openai-provider";
import type { Provider } from "./types";

/** Provider adapters by config prefix. Providers are stateless; one instance serves every deployment. */
export function createProviderRegistry(extra: Record<string, Provider> = {}): (name: string) => Provider {
  const providers: Record<string, Provider> = {
    openai: createOpenAiProvider(),
    mock: createMockProvider(),
    anthropic: createAnthropicProvider(),
    bedrock: createBedrockProvider(),
    azure: createAzureProvider(),
    ollama: createOllamaProvider("ollama"),
    ollama_chat: createOllamaProvider("ollama_chat"),
    ...extra,
  };
  return (name) => {
    const provider = providers[name];
    if (!provider) {
      throw new LlmuxError({
        kind: "internal",
        message: `Provider '${name}' is not available in this build`,
      });
    }
    return provider;
  };
}
