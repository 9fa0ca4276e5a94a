/**
 * keyMatches keeps the configured key's digest between calls (hashing it on every request cost
 * ~3 µs): the digest must follow the key when the expected key changes.
 */
import { describe, expect, it } from "vitest";
import { keyMatches } from "./authenticate";

describe("keyMatches", () => {
  it("matches the expected key only, and follows the expected key when it changes", () => {
    const first = "sk-master-first-0123456789";
    const second = "sk-master-second-0123456789";
    expect(keyMatches(first, first)).toBe(true);
    expect(keyMatches(second, first)).toBe(false);
    expect(keyMatches("", first)).toBe(false);
    // the expected key changes (another gateway, a rotated key): the kept digest must not match the old one
    expect(keyMatches(first, second)).toBe(false);
    expect(keyMatches(second, second)).toBe(true);
    expect(keyMatches(first, first)).toBe(true);
    expect(keyMatches(`${first} `, first)).toBe(false);
  });
});
