/**
 * Whether a model name is in an allow-list (a virtual key's, user's or team's `models`, or a static
 * key's `models`), as LiteLLM reads one: an empty or missing list, `*` or `all-proxy-models` allow
 * everything; an entry with `*` is a wildcard (`openai/*`, `claude-*`); anything else matches exactly.
 */
export function modelAllowed(allowed: readonly string[] | undefined, model: string): boolean {
  if (allowed === undefined || allowed.length === 0) return true;
  for (const entry of allowed) {
    if (entry === model || entry === "*" || entry === ALL_PROXY_MODELS) return true;
    if (entry.includes("*") && wildcard(entry).test(model)) return true;
  }
  return false;
}

/** LiteLLM's name for "every model of the proxy" in a key's or team's list. */
export const ALL_PROXY_MODELS = "all-proxy-models";

const patterns = new Map<string, RegExp>();

function wildcard(entry: string): RegExp {
  let pattern = patterns.get(entry);
  if (pattern === undefined) {
    const source = entry
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    pattern = new RegExp(`^${source}$`);
    if (patterns.size < 1024) patterns.set(entry, pattern);
  }
  return pattern;
}
