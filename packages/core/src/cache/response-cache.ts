import { hash as oneShotHash } from "node:crypto";
import type { Logger } from "@llmux/callbacks";
import type { Usage } from "@llmux/pricing";
import { CREDENTIAL_KEYS, GATEWAY_KEYS } from "../gateway/request-params";
import type { StreamItem } from "../providers/types";
import type { CacheStore } from "./cache-store";

export type CachedCallType = "chat" | "embeddings" | "messages";

/** LiteLLM's names in `cache_params.supported_call_types`, by llmux call type. */
const CALL_TYPE_NAMES: Record<CachedCallType, readonly string[]> = {
  chat: ["completion", "acompletion", "chat", "chat_completion"],
  embeddings: ["embedding", "aembedding", "embeddings"],
  messages: ["anthropic_messages", "messages"],
};

/** Body keys that never change the answer (routing, telemetry, delivery) or that are secrets: not in the key. */
const IGNORED_KEYS = new Set<string>([
  ...GATEWAY_KEYS,
  ...CREDENTIAL_KEYS,
  "model",
  "cache",
  "stream",
  "stream_options",
  "user",
  "tags",
  "litellm_metadata",
  "litellm_session_id",
  "mock_response",
]);

/** What is kept for a hit: the answer, and what the call cost (the saving a hit records). */
export interface CacheEntry {
  v: 1;
  callType: CachedCallType;
  createdAt: number;
  deploymentId: string;
  usage: Usage | null;
  /** Cost of the call that filled the entry (USD), null when unpriced. */
  cost: number | null;
  /** Non-streamed answer (chat completion, embeddings response). */
  body?: Record<string, unknown>;
  /** Streamed answer: the items as the upstream sent them (usage chunk included). */
  items?: StreamItem[];
  /** Streamed Anthropic Messages answer: the events as sent (the final usage on message_delta). */
  events?: Array<{ event: Record<string, unknown>; usage?: Usage }>;
}

/** At most this many parsed stream entries are kept, each from a text of at most this many characters. */
const PARSED_STREAMS = 128;
const PARSED_STREAM_CHARS = 64 * 1024;

/** The cache decision for one call. */
export interface CachePlan {
  key: string;
  /** false with `cache: {"no-cache": true}`: do not serve from the cache (the answer may still be stored). */
  read: boolean;
  /** false with `cache: {"no-store": true}`. */
  write: boolean;
  ttlMs: number;
  /** `cache: {"s-maxage": N}`: only entries younger than N seconds. */
  maxAgeMs?: number;
}

export interface ResponseCacheOptions {
  store: CacheStore;
  /** Default time to live (cache_params.ttl, seconds → ms). */
  ttlMs: number;
  /** cache_params.namespace: part of every key. */
  namespace?: string;
  /** cache_params.supported_call_types, mapped; default: chat, embeddings and messages. */
  callTypes?: ReadonlySet<CachedCallType>;
  /** Longest wait on the store per lookup (a miss after it). Default 50 ms. */
  timeoutMs?: number;
  /** Refuse entries larger than this many characters (default 1 MiB). */
  maxEntryChars?: number;
  logger?: Logger;
  onError?: (operation: "get" | "set", error: Error) => void;
}

/**
 * The response cache's policy, in one place (after Keyv: the stores stay thin): which calls may be cached,
 * the key (a hash of the normalised request: model group, messages/input and every parameter that changes
 * the answer; never credentials), the per-request controls (`cache: {"no-cache", "no-store", "ttl",
 * "s-maxage"}`), bounded lookups (a slow store is a miss, never a slow call) and the entry format.
 */
export class ResponseCache {
  /** Streamed chat entries lately parsed, by key, with the text they were parsed from. */
  private readonly parsedStreams = new Map<string, { text: string; entry: CacheEntry }>();
  readonly kind: string;
  private errors = 0;
  private warnedAt = Number.NEGATIVE_INFINITY;
  private readonly callTypes: ReadonlySet<CachedCallType>;

  constructor(private readonly options: ResponseCacheOptions) {
    this.kind = options.store.kind;
    this.callTypes = options.callTypes ?? new Set<CachedCallType>(["chat", "embeddings", "messages"]);
  }

  get errorCount(): number {
    return this.errors;
  }

  /** The plan for a call, or undefined when it is not cacheable (call type off, caller's credentials, stores nothing). */
  plan(
    callType: CachedCallType,
    modelGroup: string,
    body: Record<string, unknown>,
    stream: boolean,
  ): CachePlan | undefined {
    if (!this.callTypes.has(callType)) return undefined;
    // a caller choosing its own upstream or credentials gets answers of its own: never shared
    for (const key of CREDENTIAL_KEYS) if (body[key] !== undefined) return undefined;
    const controls = (typeof body.cache === "object" && body.cache !== null ? body.cache : {}) as Record<
      string,
      unknown
    >;
    const read = controls["no-cache"] !== true;
    const write = controls["no-store"] !== true;
    if (!read && !write) return undefined;
    const ttlSeconds = typeof controls.ttl === "number" && controls.ttl > 0 ? controls.ttl : undefined;
    const normalised: Record<string, unknown> = {};
    for (const key of Object.keys(body).sort()) {
      if (!IGNORED_KEYS.has(key) && body[key] !== undefined) normalised[key] = body[key];
    }
    // one-shot hash: no Hash object per call
    const hash = oneShotHash(
      "sha256",
      canonicalJson({ callType, modelGroup, stream, request: normalised }),
      "hex",
    );
    const plan: CachePlan = {
      key: `${this.options.namespace ? `${this.options.namespace}:` : ""}${callType}:${hash}`,
      read,
      write,
      ttlMs: ttlSeconds !== undefined ? ttlSeconds * 1000 : this.options.ttlMs,
    };
    const maxAge = controls["s-maxage"] ?? controls["s_maxage"];
    if (typeof maxAge === "number" && maxAge >= 0) plan.maxAgeMs = maxAge * 1000;
    return plan;
  }

  /** The entry for a plan, or undefined (absent, expired for the caller, unreadable, or the store late/failing). */
  async get(plan: CachePlan, now = Date.now()): Promise<CacheEntry | undefined> {
    if (!plan.read) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const store = this.options.store;
    try {
      // An in-process store answers at once: no timer to race it.
      const text =
        store.kind === "memory"
          ? await store.get(plan.key)
          : await Promise.race([
              store.get(plan.key),
              new Promise<undefined>((_, reject) => {
                timer = setTimeout(
                  () => reject(new Error(`no answer within ${this.options.timeoutMs ?? 50} ms`)),
                  this.options.timeoutMs ?? 50,
                );
                timer.unref?.();
              }),
            ]);
      if (text === undefined) return undefined;
      const entry = this.parse(plan.key, text);
      if (entry?.v !== 1) return undefined;
      if (plan.maxAgeMs !== undefined && now - entry.createdAt > plan.maxAgeMs) return undefined;
      return entry;
    } catch (error) {
      this.failed("get", error);
      return undefined;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * The entry a stored text holds. An answer read again unchanged is not parsed again: its entry is
   * shared by the hits, which only read it (a replayed stream hands out copies, see
   * `replayStreamItems`; a body is sent as its text and parsed per hit only if read, see `hitBody`).
   * Messages streams (`events`) are parsed on every hit.
   */
  private parse(key: string, text: string): CacheEntry {
    const known = this.parsedStreams.get(key);
    if (known !== undefined && known.text === text) return known.entry;
    const entry = JSON.parse(text) as CacheEntry;
    if ((entry?.items || entry?.body) && text.length <= PARSED_STREAM_CHARS) {
      if (this.parsedStreams.size >= PARSED_STREAMS) this.parsedStreams.clear();
      this.parsedStreams.set(key, { text, entry });
    }
    return entry;
  }

  /** Stores an entry in the background (never awaited by a call); too large entries are skipped. */
  set(plan: CachePlan, entry: CacheEntry): void {
    if (!plan.write) return;
    const text = JSON.stringify(entry);
    if (text.length > (this.options.maxEntryChars ?? 1024 * 1024)) return;
    this.options.store.set(plan.key, text, plan.ttlMs).catch((error) => this.failed("set", error));
  }

  private failed(operation: "get" | "set", raw: unknown): void {
    const error = raw instanceof Error ? raw : new Error(String(raw));
    this.errors++;
    try {
      this.options.onError?.(operation, error);
    } catch {
      // a metric never fails a call
    }
    const now = Date.now();
    if (now - this.warnedAt >= 60_000) {
      this.warnedAt = now;
      this.options.logger?.warn(
        `response cache (${this.kind}) ${operation} failed: ${error.message}; calls go upstream meanwhile`,
      );
    }
  }

  async close(): Promise<void> {
    await this.options.store.close?.();
  }
}

/** JSON with object keys sorted at every level: equal requests give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  // one string built in place (no arrays of parts): this runs on every cacheable call
  if (Array.isArray(value)) {
    let text = "[";
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ",";
      text += canonicalJson(value[index] ?? null);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let text = "{";
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (text.length > 1) text += ",";
    text += `${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${text}}`;
}

/** The call types named in cache_params.supported_call_types (LiteLLM's names); undefined: all. */
export function cachedCallTypes(names: unknown): Set<CachedCallType> | undefined {
  if (!Array.isArray(names)) return undefined;
  const result = new Set<CachedCallType>();
  for (const [type, aliases] of Object.entries(CALL_TYPE_NAMES) as Array<
    [CachedCallType, readonly string[]]
  >) {
    if (names.some((name) => typeof name === "string" && aliases.includes(name))) result.add(type);
  }
  return result;
}
