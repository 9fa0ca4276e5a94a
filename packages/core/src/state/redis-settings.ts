/**
 * Where the shared Redis is, from LiteLLM's keys: `router_settings.redis_url`, or `redis_host`,
 * `redis_port`, `redis_password` (and `redis_username`), else the environment's REDIS_URL, or REDIS_HOST,
 * REDIS_PORT, REDIS_PASSWORD (REDIS_USERNAME). A `rediss://` URL (or `redis_ssl: true` / REDIS_SSL=true)
 * means TLS. Nothing configured: undefined, and every instance keeps its state in process.
 */
export interface RedisSettings {
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** A PEM file of CA certificates to trust for TLS (router_settings.redis_ssl_ca_certs or REDIS_SSL_CA_CERTS), for a private CA. */
  tlsCaFile?: string;
  /** Prepended to every key (router_settings.redis_key_prefix or LLMUX_REDIS_PREFIX); default `llmux:`. */
  prefix: string;
  /** Longest wait on Redis per operation before local state answers (router_settings.redis_timeout_ms, default 50, at most 50). */
  timeoutMs: number;
  /** How often the router's local snapshot is synchronised (router_settings.redis_sync_interval_ms, default 200). */
  syncIntervalMs: number;
}

export function resolveRedisSettings(
  routerSettings: Record<string, unknown>,
  env: Record<string, string | undefined>,
): RedisSettings | undefined {
  const text = (value: unknown): string | undefined =>
    typeof value === "string" && value.trim() !== ""
      ? value.trim()
      : typeof value === "number"
        ? String(value)
        : undefined;
  const fromConfig = text(routerSettings.redis_url) ?? text(routerSettings.redis_host);
  const source = fromConfig
    ? {
        url: text(routerSettings.redis_url),
        host: text(routerSettings.redis_host),
        port: text(routerSettings.redis_port),
        username: text(routerSettings.redis_username),
        password: text(routerSettings.redis_password),
        ssl: routerSettings.redis_ssl,
        ca: text(routerSettings.redis_ssl_ca_certs),
      }
    : {
        url: text(env.REDIS_URL),
        host: text(env.REDIS_HOST),
        port: text(env.REDIS_PORT),
        username: text(env.REDIS_USERNAME),
        password: text(env.REDIS_PASSWORD),
        ssl: env.REDIS_SSL,
        ca: text(env.REDIS_SSL_CA_CERTS),
      };
  if (!source.url && !source.host) return undefined;
  const number = (value: unknown, fallback: number): number => {
    const parsed = typeof value === "number" ? value : Number(text(value));
    return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
  };
  const settings: RedisSettings = {
    tls: source.url?.startsWith("rediss://") === true || source.ssl === true || source.ssl === "true",
    prefix: text(routerSettings.redis_key_prefix) ?? text(env.LLMUX_REDIS_PREFIX) ?? "llmux:",
    timeoutMs: Math.min(50, number(routerSettings.redis_timeout_ms, 50)),
    syncIntervalMs: number(routerSettings.redis_sync_interval_ms, 200),
  };
  if (source.url) settings.url = source.url;
  if (source.host) settings.host = source.host;
  if (source.port) settings.port = number(source.port, 6379);
  if (source.username) settings.username = source.username;
  if (source.password) settings.password = source.password;
  if (source.ca) settings.tlsCaFile = source.ca;
  return settings;
}

/** host:port of the settings without credentials, for logs. */
export function describeRedis(settings: RedisSettings): string {
  if (settings.url) {
    try {
      const url = new URL(settings.url);
      return `${url.protocol}//${url.hostname}:${url.port || 6379}`;
    } catch {
      return "redis (invalid url)";
    }
  }
  return `${settings.tls ? "rediss" : "redis"}://${settings.host}:${settings.port ?? 6379}`;
}
