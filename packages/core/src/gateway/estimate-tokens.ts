/**
 * A fast token estimate (about four characters a token) for pre-call checks: context-window
 * fallbacks, cost-based routing and tpm limits. Never used for billing.
 */
export function estimateTokens(value: unknown): number {
  return Math.ceil(countCharacters(value) / 4);
}

function countCharacters(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (Array.isArray(value)) {
    let total = 0;
    for (const item of value) total += countCharacters(item);
    return total;
  }
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    // Count text-bearing fields only: roles and ids are a few tokens each.
    let total = 4;
    if (record.content !== undefined) total += countCharacters(record.content);
    if (typeof record.text === "string") total += record.text.length;
    if (record.tool_calls !== undefined) total += JSON.stringify(record.tool_calls).length;
    if (record.function !== undefined && record.content === undefined)
      total += JSON.stringify(record.function).length;
    return total;
  }
  return 0;
}

/** Estimated prompt tokens of a chat request: messages plus tool definitions. */
export function estimatePromptTokens(body: Record<string, unknown>): number {
  let tokens = estimateTokens(body.messages ?? body.input ?? "");
  if (body.tools) tokens += Math.ceil(JSON.stringify(body.tools).length / 4);
  if (typeof body.system === "string" || Array.isArray(body.system)) tokens += estimateTokens(body.system);
  return tokens;
}

/** Tokens of a text (the output of a stream whose upstream reported no usage). */
export function countTextTokens(text: string, _model?: string): number {
  return Math.ceil(text.length / 4);
}
