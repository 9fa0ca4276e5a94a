import { hash, randomBytes } from "node:crypto";

/** A new virtual key: `sk-` and 32 random bytes in base64url (256 bits). Shown once, never stored. */
export function generateKey(): string {
  return `sk-${randomBytes(32).toString("base64url")}`;
}

/**
 * The SHA-256 (hex) of a key: what the database stores and looks keys up by. Every digest has the
 * same length and the lookup is by equality on the digest, so no comparison leaks the key's bytes.
 */
export function hashKey(key: string): string {
  return hash("sha256", key, "hex");
}

/** "sk-...wxyz": recognisable in lists, useless as a credential. */
export function abbreviateKey(key: string): string {
  return `sk-...${key.slice(-4)}`;
}

/** A token the caller passed where a key or its hash is expected (LiteLLM accepts both). */
export function tokenOf(keyOrHash: string): string {
  return /^[0-9a-f]{64}$/.test(keyOrHash) ? keyOrHash : hashKey(keyOrHash);
}
