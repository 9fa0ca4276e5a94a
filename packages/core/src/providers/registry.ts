import { LlmuxError } from "../errors/llmux-error";
import { createMockProvider } from "./mock/mock-provider";
import { createOpenAiProvider } from "./openai/openai-provider";
import type { Provider } from "./types";

/** Provider adapters by config prefix. Providers are stateless; one instance serves every deployment. */
export function createProviderRegistry(extra: Record<string, Provider> = {}): (name: string) => Provider {
  const providers: Record<string, Provider> = {
    openai: createOpenAiProvider(),
    mock: createMockProvider(),
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
