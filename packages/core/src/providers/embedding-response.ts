import { makeUsage } from "@llmux/pricing";
import type { EmbeddingResult } from "./types";

/**
 * An OpenAI-format embeddings response from plain float vectors, for providers with their own
 * embeddings API (Bedrock, Ollama). `encoding_format: "base64"` (what the openai SDK asks for by
 * default) returns little-endian float32 bytes in base64, as OpenAI does.
 */
export function embeddingResponse(
  vectors: number[][],
  model: string,
  promptTokens: number | null,
  encodingFormat: unknown,
): EmbeddingResult {
  const base64 = encodingFormat === "base64";
  const data = vectors.map((vector, index) => ({
    object: "embedding",
    index,
    embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector,
  }));
  const response: EmbeddingResult["response"] = { object: "list", data, model };
  if (promptTokens === null) return { response, usage: null };
  response.usage = { prompt_tokens: promptTokens, total_tokens: promptTokens };
  return { response, usage: makeUsage({ inputTokens: promptTokens, outputTokens: 0 }) };
}

/** OpenAI's `input`: a string, an array of strings (token arrays are not supported by these providers). */
export function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === "string")) return input as string[];
  return undefined;
}
