/**
 * How LiteLLM users name models, turned into the names the price sources know.
 *
 * - "openai/gpt-4o" with provider "openai": the repeated provider prefix is dropped.
 * - Bedrock: "converse/" and "invoke/" route prefixes are dropped; a cross-region inference profile
 *   ("us.", "eu.", "apac.", "global.", ...) is tried as written first, then without its geography.
 * - Ollama: "llama3:latest" and "llama3.1:8b" are tried as written, then without the tag (not for
 *   Ollama's "-cloud" tags, which name hosted models).
 */

/** LiteLLM provider names that price the same models under another name. */
const PROVIDER_ROOT_ALIASES: Record<string, string> = {
  bedrock_converse: "bedrock",
  ollama_chat: "ollama",
  "text-completion-openai": "openai",
  cohere_chat: "cohere",
  azure_text: "azure",
};

/**
 * The provider family a LiteLLM provider name belongs to: "vertex_ai-language-models" → "vertex_ai",
 * "bedrock_converse" → "bedrock", "ollama_chat" → "ollama".
 */
export function providerRoot(provider: string): string {
  const lower = provider.toLowerCase();
  const head = lower.split("-")[0] ?? lower;
  return PROVIDER_ROOT_ALIASES[lower] ?? PROVIDER_ROOT_ALIASES[head] ?? head;
}

/** Prefixes under which a LiteLLM price file keys this provider's models ("azure/gpt-4o"). */
export function providerKeyPrefixes(provider: string): string[] {
  const lower = provider.toLowerCase();
  const root = providerRoot(lower);
  return root === lower ? [lower] : [lower, root];
}

const BEDROCK_GEOGRAPHY = /^(us|eu|apac|ap|au|jp|ca|global|us-gov)\.(?=[a-z0-9-]+\.)/i;
const BEDROCK_ROUTE = /^(converse|invoke)\//i;

/** Strips a leading "provider/" the user repeated in the model name (also for root aliases). */
function stripProviderPrefix(provider: string, model: string): string {
  let name = model.trim();
  const prefixes = providerKeyPrefixes(provider);
  let changed = true;
  while (changed) {
    changed = false;
    for (const prefix of prefixes) {
      if (name.toLowerCase().startsWith(`${prefix}/`)) {
        name = name.slice(prefix.length + 1);
        changed = true;
      }
    }
  }
  return name;
}

/** The names to look a model up by, most specific first, without duplicates. */
export function modelNameCandidates(provider: string, model: string): string[] {
  const root = providerRoot(provider);
  const names: string[] = [];
  const push = (name: string) => {
    if (name && !names.includes(name)) names.push(name);
  };
  let base = stripProviderPrefix(provider, model);
  if (root === "bedrock") {
    while (BEDROCK_ROUTE.test(base)) base = base.replace(BEDROCK_ROUTE, "");
    push(base);
    push(base.replace(BEDROCK_GEOGRAPHY, ""));
    return names;
  }
  push(base);
  if (root === "ollama") {
    const tagAt = base.lastIndexOf(":");
    if (tagAt > 0 && !base.slice(tagAt + 1).endsWith("-cloud")) push(base.slice(0, tagAt));
  }
  return names;
}
