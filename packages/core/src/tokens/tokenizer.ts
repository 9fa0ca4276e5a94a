/**
 * Token counts with OpenAI's BPE encodings (gpt-tokenizer, a maintained pure-JS tiktoken): o200k_base
 * for the GPT-4o / 4.1 / 5 / o-series families and, as the closest public encoding, for every other
 * model (Claude, Llama, Mistral, Gemini: those counts are estimates); cl100k_base for GPT-4, GPT-3.5
 * and the v3/ada embedding models.
 *
 * An encoding's tables take a few hundred milliseconds to load, so nothing is loaded at import time:
 * `loadTokenizer()` loads one in the background (the gateway calls it once it is ready, when its
 * config counts tokens: tpm limits, context windows, pre-call checks, cost routing) and
 * `/v1/messages/count_tokens` awaits it. Synchronous callers (the router's estimate) use it once
 * loaded and, before that, `approximateTokens()`, which counts CJK characters one token each.
 */

export type EncodingName = "o200k_base" | "cl100k_base";

interface Encoder {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

const loaded = new Map<EncodingName, Encoder>();
const loading = new Map<EncodingName, Promise<Encoder | undefined>>();
// User text may contain "<|endoftext|>": count it as text rather than refusing it.
const AS_TEXT = { disallowedSpecial: new Set<string>() };

const CL100K = /^(gpt-4(?!o|\.)|gpt-4-|gpt-3\.5|text-embedding-(3|ada)|davinci-002|babbage-002)/;

/** The encoding a model's tokens are counted with (the part after the last "/" is the model). */
export function encodingForModel(model: string | undefined): EncodingName {
  const name = (model ?? "").slice((model ?? "").lastIndexOf("/") + 1).toLowerCase();
  return CL100K.test(name) ? "cl100k_base" : "o200k_base";
}

/** Whether the model's count is exact (an OpenAI model on its own encoding) rather than an estimate. */
export function isExactFor(model: string | undefined): boolean {
  const name = (model ?? "").slice((model ?? "").lastIndexOf("/") + 1).toLowerCase();
  return /^(gpt-|o\d|chatgpt-|text-embedding-|codex-)/.test(name);
}

/** Loads an encoding (once); resolves undefined when gpt-tokenizer cannot be loaded. */
export function loadTokenizer(encoding: EncodingName = "o200k_base"): Promise<Encoder | undefined> {
  const done = loaded.get(encoding);
  if (done) return Promise.resolve(done);
  let pending = loading.get(encoding);
  if (!pending) {
    pending = importEncoding(encoding).then(
      (encoder) => {
        loaded.set(encoding, encoder);
        return encoder;
      },
      () => undefined,
    );
    loading.set(encoding, pending);
  }
  return pending;
}

/** The loaded encoder, if any (never loads). */
export function loadedTokenizer(encoding: EncodingName): Encoder | undefined {
  return loaded.get(encoding);
}

/** Tokens of a text: exact once the model's encoding is loaded, else approximated. */
export function countTextTokens(text: string, model?: string): number {
  if (text.length === 0) return 0;
  const encoder = loaded.get(encodingForModel(model));
  if (!encoder) return approximateTokens(text);
  return encoder.countTokens(text, AS_TEXT);
}

/**
 * A quick approximation: a CJK character (kana, kanji, hangul, full-width forms) is about one token,
 * anything else about four characters per token.
 */
export function approximateTokens(text: string): number {
  let wide = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (
      (code >= 0x3000 && code <= 0x9fff) ||
      (code >= 0xac00 && code <= 0xd7af) ||
      (code >= 0xff00 && code <= 0xffef)
    )
      wide++;
  }
  return wide + Math.ceil((text.length - wide) / 4);
}

async function importEncoding(encoding: EncodingName): Promise<Encoder> {
  // Only the one encoding's module (the package's main entry would load several).
  const module = (await (encoding === "cl100k_base"
    ? import("gpt-tokenizer/encoding/cl100k_base")
    : import("gpt-tokenizer/encoding/o200k_base"))) as Encoder & { default?: Encoder };
  return typeof module.countTokens === "function" ? module : (module.default as Encoder);
}
