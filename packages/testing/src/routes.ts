/**
 * Maps a method and path (scenario prefix already removed) to a provider-shape handler and its error writer.
 */
import type { ErrorWriter, Exchange } from "./exchange.js";
import type { ProviderSettings } from "./mock-provider.js";
import { handleChatCompletions, handleEmbeddings, handleModels, writeOpenAIError } from "./openai-shape.js";

export interface Route {
  handle(exchange: Exchange): Promise<void>;
  writeError: ErrorWriter;
}

const AZURE_PREFIX = "/openai/deployments/";

export function routeRequest(method: string, path: string, settings: ProviderSettings): Route | undefined {
  if (method === "POST") {
    switch (path) {
      case "/v1/chat/completions":
      case "/chat/completions":
        return { handle: (exchange) => handleChatCompletions(exchange), writeError: writeOpenAIError };
      case "/v1/embeddings":
      case "/embeddings":
        return { handle: (exchange) => handleEmbeddings(exchange), writeError: writeOpenAIError };
    }
    if (path.startsWith(AZURE_PREFIX)) {
      const slash = path.indexOf("/", AZURE_PREFIX.length);
      if (slash === -1) return undefined;
      const deployment = decodeURIComponent(path.slice(AZURE_PREFIX.length, slash));
      const operation = path.slice(slash);
      if (operation === "/chat/completions") {
        return {
          handle: (exchange) => handleChatCompletions(exchange, deployment),
          writeError: writeOpenAIError,
        };
      }
      if (operation === "/embeddings") {
        return { handle: (exchange) => handleEmbeddings(exchange, deployment), writeError: writeOpenAIError };
      }
    }
    return undefined;
  }
  if (method === "GET" && (path === "/v1/models" || path === "/models")) {
    return { handle: (exchange) => handleModels(exchange, settings.models), writeError: writeOpenAIError };
  }
  return undefined;
}
