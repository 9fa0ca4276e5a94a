/**
 * Redaction helpers used by the core before events leave the process:
 * - `redactEvent` drops prompt/response content (`turn_off_message_logging`);
 * - `scrubSecrets` replaces configured secret strings, `Bearer …` tokens and the values of
 *   credential headers (`authorization`, `x-api-key`, `api-key`, …) anywhere in a JSON-able value.
 * Both are copy-on-write: the input is never mutated and an unchanged value is returned as is
 * (same reference), so running them on every event costs a walk and no allocation.
 */
import type { SecretScrubber } from "./api-types";
import type { CallEvent, CallStartEvent, StreamChunkEvent } from "./types";

export const REDACTED = "[REDACTED]";

/** Keys of `requestParams` that carry content rather than parameters. */
const CONTENT_PARAM_KEYS = ["messages", "input", "prompt", "system", "contents"] as const;
/** Top-level keys of a stream chunk kept when redacted (everything else may carry content). */
const CHUNK_KEPT_KEYS = [
  "id",
  "object",
  "created",
  "model",
  "system_fingerprint",
  "service_tier",
  "usage",
  "type",
  "index",
];

/**
 * Returns a copy of a call event (start or end) without `messages` / `response` (and without
 * content keys of `requestParams`), marked `redacted: true`; for a stream chunk event, a copy
 * whose chunk keeps ids, model, usage, roles and finish reasons but no content.
 */
export function redactEvent<Event extends CallStartEvent | CallEvent | StreamChunkEvent>(
  event: Event,
): Event {
  if (isStreamChunkEvent(event)) {
    return { ...event, chunk: redactChunk(event.chunk) };
  }
  const { messages: _messages, response: _response, ...rest } = event as CallEvent;
  const result = rest as CallEvent;
  result.redacted = true;
  const params = result.requestParams;
  if (params !== null && typeof params === "object" && CONTENT_PARAM_KEYS.some((key) => key in params)) {
    const copy: Record<string, unknown> = { ...params };
    for (const key of CONTENT_PARAM_KEYS) delete copy[key];
    result.requestParams = copy;
  }
  return result as unknown as Event;
}

function isStreamChunkEvent(event: object): event is StreamChunkEvent {
  return "chunk" in event && !("callType" in event);
}

function redactChunk(chunk: unknown): unknown {
  if (chunk === null || typeof chunk !== "object" || Array.isArray(chunk)) return undefined;
  const source = chunk as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const key of CHUNK_KEPT_KEYS) {
    if (key in source) result[key] = source[key];
  }
  if (Array.isArray(source.choices)) {
    result.choices = source.choices.map((choice: unknown) => {
      if (choice === null || typeof choice !== "object") return {};
      const { index, finish_reason, delta } = choice as Record<string, unknown>;
      const kept: Record<string, unknown> = { index, finish_reason };
      if (delta !== null && typeof delta === "object" && "role" in delta) {
        kept.delta = { role: (delta as Record<string, unknown>).role };
      } else {
        kept.delta = {};
      }
      return kept;
    });
  }
  return result;
}

/** Object keys whose values are credentials, compared in lower case. */
const SENSITIVE_KEYS = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "x-goog-api-key",
  "api_key",
  "apikey",
  "cookie",
  "set-cookie",
]);
/** Object keys seen so far → sensitive or not (keys repeat from event to event; bounded). */
const keyVerdicts = new Map<string, boolean>();
const MAX_KEY_VERDICTS = 4_096;

function isSensitiveKey(key: string): boolean {
  let verdict = keyVerdicts.get(key);
  if (verdict === undefined) {
    verdict = SENSITIVE_KEYS.has(key.toLowerCase());
    if (keyVerdicts.size >= MAX_KEY_VERDICTS) keyVerdicts.clear();
    keyVerdicts.set(key, verdict);
  }
  return verdict;
}

/** A case-insensitive pattern for a literal, without the `i` flag (which would also apply to secrets). */
function anyCase(literal: string): string {
  let pattern = "";
  for (const character of literal) {
    const lower = character.toLowerCase();
    const upper = character.toUpperCase();
    pattern += lower === upper ? escapeRegExp(character) : `[${lower}${upper}]`;
  }
  return pattern;
}

/**
 * `Bearer <token>` in free text: a token of 8+ characters holding a digit or one of `-._~+/`
 * (so "the bearer instrument" in a prompt is left alone).
 */
const BEARER_SOURCE = "\\b[Bb]earer\\s+(?=[A-Za-z0-9\\-._~+/]*[0-9\\-._~+/])[A-Za-z0-9\\-._~+/]{8,}=*";
/** `x-api-key: value`, `"api_key":"value"`, `authorization=Basic value`, … in free text. */
const HEADER_SOURCE =
  "\\b(" +
  ["proxy-authorization", "authorization", "x-api-key", "x-goog-api-key", "api-key", "api_key", "apikey"]
    .map(anyCase)
    .join("|") +
  ")(\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']?)" +
  "((?:(?:" +
  ["bearer", "basic", "token"].map(anyCase).join("|") +
  ")\\s+)?(?:\\[REDACTED\\]|[^\\s\"'\\\\,;})\\]>&]+))";

/** Shorter strings are ignored as secrets (they would redact ordinary text). */
const MIN_SECRET_LENGTH = 4;
const MAX_DEPTH = 64;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Compiles a scrubber for a fixed list of secrets (compile once, run on every event).
 * Secrets shorter than 4 characters are ignored. One regular expression (secrets | Bearer token |
 * credential header) scans each string once.
 */
export function createSecretScrubber(secrets: readonly string[]): SecretScrubber {
  const usable = [
    ...new Set(secrets.filter((secret) => typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH)),
  ];
  usable.sort((a, b) => b.length - a.length);
  const secretSource = usable.length > 0 ? `(${usable.map(escapeRegExp).join("|")})` : "((?!))";
  const pattern = new RegExp(`${secretSource}|(${BEARER_SOURCE})|${HEADER_SOURCE}`, "g");
  const shortest = Math.min(MIN_SECRET_LENGTH, ...usable.map((secret) => secret.length));
  const replace = (
    _match: string,
    secret: string | undefined,
    bearer: string | undefined,
    name: string,
    separator: string,
  ): string => {
    if (secret !== undefined) return REDACTED;
    if (bearer !== undefined) return `Bearer ${REDACTED}`;
    return `${name}${separator}${REDACTED}`;
  };

  // replace() returns the same string when nothing matches, so unchanged text stays identical.
  const scrubString = (text: string): string =>
    text.length < shortest ? text : text.replace(pattern, replace);

  const scrubValue = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return scrubString(value);
    if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let index = 0; index < value.length; index++) {
        const item: unknown = value[index];
        const scrubbed = scrubValue(item, depth + 1);
        if (scrubbed !== item) {
          copy ??= value.slice();
          copy[index] = scrubbed;
        }
      }
      return copy ?? value;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return value;
    const source = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const key in source) {
      if (!Object.hasOwn(source, key)) continue;
      const item = source[key];
      let scrubbed: unknown;
      if (item !== undefined && item !== null && item !== REDACTED && isSensitiveKey(key)) {
        scrubbed = REDACTED;
      } else {
        scrubbed = scrubValue(item, depth + 1);
      }
      if (scrubbed !== item) {
        copy ??= { ...source };
        copy[key] = scrubbed;
      }
    }
    return copy ?? value;
  };

  return <T>(value: T): T => scrubValue(value, 0) as T;
}

const scrubberCache = new WeakMap<readonly string[], SecretScrubber>();
const scrubberByKey = new Map<string, SecretScrubber>();
const MAX_CACHED_KEYS = 32;

/**
 * Returns `value` with every occurrence of the given secrets, every `Bearer …` token and the
 * values of credential headers/keys replaced by "[REDACTED]". The input is not mutated; an
 * unchanged value is returned as is. The compiled pattern is cached per secrets array, so
 * calling this on every event with the same array is cheap (or use `createSecretScrubber`).
 */
export function scrubSecrets<T>(value: T, secrets: readonly string[] = []): T {
  let scrubber = scrubberCache.get(secrets);
  if (scrubber === undefined) {
    const key = secrets.join("\u0000");
    scrubber = scrubberByKey.get(key);
    if (scrubber === undefined) {
      scrubber = createSecretScrubber(secrets);
      if (scrubberByKey.size >= MAX_CACHED_KEYS) scrubberByKey.clear();
      scrubberByKey.set(key, scrubber);
    }
    scrubberCache.set(secrets, scrubber);
  }
  return scrubber(value);
}
