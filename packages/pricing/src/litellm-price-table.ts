import { readFileSync } from "node:fs";
import { isReadKey, pricesTokens } from "./litellm-rates.js";
import { modelNameCandidates, providerKeyPrefixes, providerRoot } from "./model-names.js";
import { PricingConfigError } from "./pricing-config-error.js";

export type LitellmEntry = Record<string, unknown>;

export interface LitellmMatch {
  key: string;
  entry: LitellmEntry;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The part of an entry pricing reads (see isReadKey), in a new object: the bundled snapshot's
 * entries carry about twice as many keys that nothing reads (supports_*, source, ...), which would
 * stay in the heap for the life of the process. Repeated string values (provider and mode names)
 * are shared through `strings`.
 */
function compactEntry(entry: Record<string, unknown>, strings: Map<string, string>): LitellmEntry {
  const compact: LitellmEntry = {};
  for (const key of Object.keys(entry)) {
    if (!isReadKey(key)) continue;
    let value = entry[key];
    if (typeof value === "string") {
      const shared = strings.get(value);
      if (shared === undefined) strings.set(value, value);
      else value = shared;
    }
    compact[key] = value;
  }
  return compact;
}

/**
 * A LiteLLM `model_prices_and_context_window.json` (the bundled snapshot or a user's file), indexed
 * for the names LiteLLM users write. Keys are matched exactly, then case-insensitively. Only the
 * keys pricing reads are kept of each entry.
 */
export class LitellmPriceTable {
  readonly #entries = new Map<string, LitellmEntry>();
  readonly #lowercase = new Map<string, string>();

  constructor(data: Record<string, unknown>) {
    const strings = new Map<string, string>();
    for (const [key, value] of Object.entries(data)) {
      if (key === "sample_spec" || !isRecord(value) || !pricesTokens(value)) continue;
      this.#entries.set(key, compactEntry(value, strings));
      const lower = key.toLowerCase();
      if (!this.#lowercase.has(lower)) this.#lowercase.set(lower, key);
    }
  }

  /** Reads a price file from a path or takes its parsed object. Throws a clear error when unusable. */
  static from(source: string | Record<string, unknown>, label: string): LitellmPriceTable {
    if (typeof source === "string") {
      let text: string;
      try {
        text = readFileSync(source, "utf8");
      } catch (error) {
        throw new PricingConfigError(`${label}: cannot read ${source}: ${(error as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new PricingConfigError(`${label}: ${source} is not valid JSON: ${(error as Error).message}`);
      }
      if (!isRecord(parsed))
        throw new PricingConfigError(`${label}: ${source} must hold a JSON object of model entries`);
      return new LitellmPriceTable(parsed);
    }
    if (!isRecord(source))
      throw new PricingConfigError(`${label}: expected a path or an object of model entries`);
    return new LitellmPriceTable(source);
  }

  /**
   * Model names this table lists for a provider family, without the provider prefix ("gpt-4o"),
   * for entries of the given mode (default "chat"). Used to list what a wildcard group can serve.
   */
  modelsOf(provider: string, mode = "chat"): string[] {
    const root = providerRoot(provider);
    const prefixes = providerKeyPrefixes(provider);
    const names = new Set<string>();
    for (const [key, entry] of this.#entries) {
      const owner = entry["litellm_provider"];
      if (typeof owner !== "string" || providerRoot(owner) !== root) continue;
      if ((entry["mode"] ?? "chat") !== mode) continue;
      let name = key;
      for (const prefix of prefixes) if (name.startsWith(`${prefix}/`)) name = name.slice(prefix.length + 1);
      if (!name.includes("/")) names.add(name);
    }
    return [...names].sort();
  }

  get size(): number {
    return this.#entries.size;
  }

  #get(key: string): LitellmMatch | undefined {
    const exact = this.#entries.get(key);
    if (exact) return { key, entry: exact };
    const original = this.#lowercase.get(key.toLowerCase());
    const entry = original === undefined ? undefined : this.#entries.get(original);
    return original !== undefined && entry ? { key: original, entry } : undefined;
  }

  /**
   * The entry pricing `provider`/`model`: for each name candidate, first "<provider>/<name>" (and the
   * provider family's prefix, e.g. "ollama/" for ollama_chat), then the bare "<name>" when its
   * `litellm_provider` is of the same family (or the entry names none, as hand-written files may):
   * an Ollama "mistral" is never priced as Mistral's API, an Azure deployment never at OpenAI's rate.
   */
  find(provider: string, model: string): LitellmMatch | undefined {
    const prefixes = providerKeyPrefixes(provider);
    const root = providerRoot(provider);
    for (const name of modelNameCandidates(provider, model)) {
      for (const prefix of prefixes) {
        const match = this.#get(`${prefix}/${name}`);
        if (match) return match;
      }
      const bare = this.#get(name);
      if (bare) {
        const owner = bare.entry["litellm_provider"];
        if (typeof owner !== "string" || providerRoot(owner) === root) return bare;
      }
    }
    return undefined;
  }
}
