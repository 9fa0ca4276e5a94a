const UNITS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  mo: 30 * 86_400_000,
};

/**
 * LiteLLM's duration strings ("30s", "30m", "1h", "1d", "2w", "1mo") in milliseconds; undefined when
 * the text is not one.
 */
export function durationMs(text: string | null | undefined): number | undefined {
  if (typeof text !== "string") return undefined;
  const match = /^(\d+)\s*(s|m|h|d|w|mo)$/.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  return amount > 0 ? amount * UNITS[match[2]!]! : undefined;
}
