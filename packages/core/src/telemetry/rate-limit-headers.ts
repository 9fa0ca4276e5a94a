import type { UpstreamResponse } from "../upstream/upstream-client";

/**
 * The remaining requests and tokens an upstream reported in its answer's headers: OpenAI and Azure
 * `x-ratelimit-remaining-requests` / `x-ratelimit-remaining-tokens`, Anthropic
 * `anthropic-ratelimit-requests-remaining` / `anthropic-ratelimit-tokens-remaining`. Undefined when
 * it reported neither (most OpenAI-compatible servers, Bedrock, Ollama, the built-in mock).
 */
export function remainingRateLimits(
  headers: UpstreamResponse["headers"],
): { remainingRequests?: number; remainingTokens?: number } | undefined {
  const requests = count(
    headers["x-ratelimit-remaining-requests"] ?? headers["anthropic-ratelimit-requests-remaining"],
  );
  const tokens = count(
    headers["x-ratelimit-remaining-tokens"] ?? headers["anthropic-ratelimit-tokens-remaining"],
  );
  if (requests === undefined && tokens === undefined) return undefined;
  const limits: { remainingRequests?: number; remainingTokens?: number } = {};
  if (requests !== undefined) limits.remainingRequests = requests;
  if (tokens !== undefined) limits.remainingTokens = tokens;
  return limits;
}

function count(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === "") return undefined;
  const number = Number(text);
  return Number.isFinite(number) && number >= 0 ? number : undefined;
}
