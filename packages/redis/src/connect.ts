import { readFileSync } from "node:fs";
import type { Clock, RedisSettings } from "@llmux/core";
import { Redis, type RedisOptions } from "ioredis";
import { GuardedConnector } from "./guarded-connector";
import { RedisCacheStore } from "./redis-cache-store";
import { RedisSharedState } from "./redis-shared-state";
import { SCRIPTS } from "./scripts";

export interface ConnectOptions {
  settings: RedisSettings;
  clock?: Clock;
  /** Longest wait for the first connection at start; then the gateway starts on local state. Default 1 s. */
  startTimeoutMs?: number;
}

export interface RedisConnection {
  client: Redis;
  state: RedisSharedState;
  /** A cache store on the same connection (keys under `<prefix>cache:`). */
  cacheStore(namespace?: string): RedisCacheStore;
  close(): Promise<void>;
}

/**
 * The ioredis options that keep Redis off the critical path: commands fail at once while disconnected
 * (no offline queue, no per-command retries), a command that gets no answer is rejected after the
 * timeout, and the client reconnects by itself forever (100 ms, 200 ms, ... at most 2 s apart).
 */
export function clientOptions(settings: RedisSettings): RedisOptions {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // the 50 ms bound is the gateway's (withFallback); this only frees commands a hung server never answers
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    // a socket that errors twice must never raise an uncaught exception in the host's process
    Connector: GuardedConnector,
  };
  if (settings.host) options.host = settings.host;
  if (settings.port) options.port = settings.port;
  if (settings.username) options.username = settings.username;
  if (settings.password) options.password = settings.password;
  if (settings.tls) options.tls = settings.tlsCaFile ? { ca: readFileSync(settings.tlsCaFile, "utf8") } : {};
  return options;
}

/** Opens a client from the settings (URL or host/port), waits a bounded time for it, and builds the stores. */
export async function connectRedis(options: ConnectOptions): Promise<RedisConnection> {
  const { settings } = options;
  const base = clientOptions(settings);
  const client = settings.url ? new Redis(settings.url, base) : new Redis(base);
  // Errors reach the gateway as failed operations (counted, one warning per outage); the client's own
  // error events would otherwise be printed for every reconnection attempt.
  client.on("error", () => undefined);
  if (await waitReady(client, options.startTimeoutMs ?? 1_000)) {
    // the scripts are loaded once here, so that calls find them (EVALSHA) and never pay for a reload
    await Promise.all(Object.values(SCRIPTS).map((script) => client.script("LOAD", script.lua))).catch(
      () => undefined,
    );
  }
  const state = new RedisSharedState({
    client,
    prefix: settings.prefix,
    ownsClient: true,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    client,
    state,
    cacheStore: (namespace) =>
      new RedisCacheStore({ client, prefix: `${settings.prefix}cache:${namespace ? `${namespace}:` : ""}` }),
    close: async () => {
      client.disconnect();
    },
  };
}

/** Resolves true when the client is ready, false after `timeoutMs` (Redis down: start on local state). */
function waitReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off("ready", done);
      resolve(client.status === "ready");
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref?.();
    client.once("ready", done);
  });
}
