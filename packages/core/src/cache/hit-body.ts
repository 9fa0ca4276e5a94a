import type { CacheEntry } from "./response-cache";

/** The JSON text of a shared entry's body, serialised once per entry. */
const texts = new WeakMap<CacheEntry, string>();

/** What a hit answers: the body's JSON text, sent as is, and the body, parsed per hit only if read. */
export interface HitBody<T> {
  readonly raw: string;
  readonly body: T;
}

/**
 * The answer of a non-streamed hit. The entry may be shared by hits (see `ResponseCache.parse`), so
 * its body is never handed out: the route sends `raw` (serialised once per entry), and a reader of
 * `body` (the in-process API, event content) gets its own copy, parsed when first read.
 */
export function hitBody<T>(entry: CacheEntry): HitBody<T> {
  let raw = texts.get(entry);
  if (raw === undefined) {
    raw = JSON.stringify(entry.body);
    texts.set(entry, raw);
  }
  return new ParsedOnRead<T>(raw);
}

/** A class, not a literal with a `body` getter (see gateway/lazy-members.ts). */
class ParsedOnRead<T> implements HitBody<T> {
  private parsed: T | undefined;

  constructor(readonly raw: string) {}

  get body(): T {
    this.parsed ??= JSON.parse(this.raw) as T;
    return this.parsed;
  }
}
