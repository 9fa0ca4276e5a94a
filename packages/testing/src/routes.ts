/**
 * Maps a method and path (scenario prefix already removed) to a provider-shape handler and its error writer.
 */
import { handleCountTokens, handleMessages, writeAnthropicError } from "./anthropic-shape.js";
import { handleConverse, handleInvoke, handleInvokeStream, writeBedrockError } from "./bedrock-shape.js";
import type { ErrorWriter, Exchange } from "./exchange.js";
import type { ProviderSettings } from "./mock-provider.js";
import {
  handleOllamaEmbed,
  handleOllamaGenerate,
  handleOllamaTags,
  writeOllamaError,
} from "./ollama-shape.js";
import { handleChatCompletions, handleEmbeddings, handleModels, writeOpenAIError } from "./openai-shape.js";

export interface Route {
  handle(exchange: Exchange): Promise<void>;
  writeError: ErrorWriter;
}

const AZURE_PREFIX = "/openai/deployments/";
const BEDROCK_PREFIX = "/model/";

const chatCompletions: Route = {
  handle: (exchange) => handleChatCompletions(exchange),
  writeError: writeOpenAIError,
};
const embeddings: Route = { handle: (exchange) => handleEmbeddings(exchange), writeError: writeOpenAIError };
const messages: Route = { handle: handleMessages, writeError: writeAnthropicError };
const countTokens: Route = { handle: handleCountTokens, writeError: writeAnthropicError };
const ollamaChat: Route = {
  handle: (exchange) => handleOllamaGenerate(exchange, "chat"),
  writeError: writeOllamaError,
};
const ollamaGenerate: Route = {
  handle: (exchange) => handleOllamaGenerate(exchange, "generate"),
  writeError: writeOllamaError,
};
const ollamaEmbed: Route = { handle: handleOllamaEmbed, writeError: writeOllamaError };

/** The route for a request, or undefined (answered 404 with the error shape of the path's provider). */
export function routeRequest(method: string, path: string, settings: ProviderSettings): Route | undefined {
  if (method === "POST") {
    switch (path) {
      case "/v1/chat/completions":
      case "/chat/completions":
        return chatCompletions;
      case "/v1/embeddings":
      case "/embeddings":
        return embeddings;
      case "/v1/messages":
        return messages;
      case "/v1/messages/count_tokens":
        return countTokens;
      case "/api/chat":
        return ollamaChat;
      case "/api/generate":
        return ollamaGenerate;
      case "/api/embed":
        return ollamaEmbed;
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
      return undefined;
    }
    if (path.startsWith(BEDROCK_PREFIX)) {
      const slash = path.indexOf("/", BEDROCK_PREFIX.length);
      if (slash === -1) return undefined;
      const modelId = decodeURIComponent(path.slice(BEDROCK_PREFIX.length, slash));
      const credentials = settings.bedrockCredentials;
      switch (path.slice(slash)) {
        case "/converse":
          return {
            handle: (exchange) => handleConverse(exchange, false, credentials),
            writeError: writeBedrockError,
          };
        case "/converse-stream":
          return {
            handle: (exchange) => handleConverse(exchange, true, credentials),
            writeError: writeBedrockError,
          };
        case "/invoke":
          return {
            handle: (exchange) => handleInvoke(exchange, modelId, credentials),
            writeError: writeBedrockError,
          };
        case "/invoke-with-response-stream":
          return {
            handle: (exchange) => handleInvokeStream(exchange, modelId, credentials),
            writeError: writeBedrockError,
          };
      }
      return undefined;
    }
    return undefined;
  }
  if (method === "GET") {
    if (path === "/v1/models" || path === "/models") {
      return { handle: (exchange) => handleModels(exchange, settings.models), writeError: writeOpenAIError };
    }
    if (path === "/api/tags") {
      return {
        handle: (exchange) => handleOllamaTags(exchange, settings.models),
        writeError: writeOllamaError,
      };
    }
  }
  return undefined;
}

/** The error writer for a path nothing answers: the shape its prefix suggests. */
export function errorWriterFor(path: string): ErrorWriter {
  if (path.startsWith("/v1/messages")) return writeAnthropicError;
  if (path.startsWith("/api/")) return writeOllamaError;
  if (path.startsWith(BEDROCK_PREFIX)) return writeBedrockError;
  return writeOpenAIError;
}
