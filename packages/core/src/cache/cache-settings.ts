import { type RedisSettings, resolveRedisSettings } from "../state/redis-settings";
import { type CachedCallType, cachedCallTypes } from "./response-cache";

/**
 * The response cache from LiteLLM's keys: `litellm_settings.cache: true` and `cache_params` (`type:
 * local | redis`, `ttl` seconds, `namespace`, `supported_call_types`, and for Redis `host`, `port`,
 * `password` or `url`; without them the router's Redis, then REDIS_* in the environment).
 * Extra llmux key: `cache_params.max_entries` (local LRU size, default 10 000).
 */
export interface CacheSettings {
  type: "local" | "redis";
  ttlMs: number;
  namespace?: string;
  callTypes?: Set<CachedCallType>;
  maxEntries: number;
  redis?: RedisSettings;
}

export const DEFAULT_CACHE_TTL_SECONDS = 600;

export function resolveCacheSettings(
  litellmSettings: Record<string, unknown>,
  routerRedis: RedisSettings | undefined,
  env: Record<string, string | undefined>,
): CacheSettings | undefined {
  if (litellmSettings.cache !== true) return undefined;
  const params = (
    typeof litellmSettings.cache_params === "object" && litellmSettings.cache_params !== null
      ? litellmSettings.cache_params
      : {}
  ) as Record<string, unknown>;
  const type = params.type === "redis" ? "redis" : "local";
  if (params.type !== undefined && params.type !== "redis" && params.type !== "local") {
    throw new Error(
      `litellm_settings.cache_params.type '${String(params.type)}' is not supported by llmux: use 'local' or 'redis'`,
    );
  }
  const ttl = Number(params.ttl);
  const settings: CacheSettings = {
    type,
    ttlMs: (Number.isFinite(ttl) && ttl > 0 ? ttl : DEFAULT_CACHE_TTL_SECONDS) * 1000,
    maxEntries: Number(params.max_entries) > 0 ? Number(params.max_entries) : 10_000,
  };
  if (typeof params.namespace === "string" && params.namespace !== "") settings.namespace = params.namespace;
  const callTypes = cachedCallTypes(params.supported_call_types);
  if (callTypes) settings.callTypes = callTypes;
  if (type === "redis") {
    const own =
      params.url || params.host
        ? resolveRedisSettings(
            {
              redis_url: params.url,
              redis_host: params.host,
              redis_port: params.port,
              redis_password: params.password,
              redis_username: params.username,
              redis_ssl: params.ssl,
            },
            {},
          )
        : undefined;
    const redis = own ?? routerRedis ?? resolveRedisSettings({}, env);
    if (!redis) {
      throw new Error(
        "litellm_settings.cache_params.type is 'redis' but no Redis is configured: set cache_params.host/port/password, router_settings.redis_host, or REDIS_URL/REDIS_HOST",
      );
    }
    if (own && routerRedis) own.prefix = routerRedis.prefix;
    settings.redis = redis;
  }
  return settings;
}
