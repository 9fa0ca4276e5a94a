/**
 * @llmux/redis: the state several llmux instances share (cooldowns, failure counts, rpm/tpm windows,
 * in-flight counts, budget counters) and the response cache, on Redis. The gateway loads this package by
 * name when Redis is configured (router_settings.redis_* or REDIS_* in the environment); hosts may also
 * build the stores from their own ioredis client.
 */
export { type ConnectOptions, clientOptions, connectRedis, type RedisConnection } from "./connect";
export { GuardedConnector } from "./guarded-connector";
export { RedisCacheStore } from "./redis-cache-store";
export { RedisSharedState, type RedisSharedStateOptions } from "./redis-shared-state";
