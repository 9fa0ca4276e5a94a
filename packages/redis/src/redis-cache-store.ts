import type { CacheStore } from "@llmux/core";
import type { Redis } from "ioredis";

/** CacheStore on Redis: one string per entry under `<prefix><key>`, expiring by itself (SET PX). */
export class RedisCacheStore implements CacheStore {
  readonly kind = "redis";
  constructor(private readonly options: { client: Redis; prefix?: string }) {}

  private key(key: string): string {
    return `${this.options.prefix ?? "llmux:cache:"}${key}`;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.options.client.get(this.key(key))) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    await this.options.client.set(this.key(key), value, "PX", Math.ceil(ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.options.client.del(this.key(key));
  }
}
