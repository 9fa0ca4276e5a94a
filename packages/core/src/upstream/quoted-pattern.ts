/**
 * Finds a pattern that starts with a quote (`"usage"`, `"delta":`) in JSON text as `indexOf` does,
 * but faster: V8's `indexOf` looks for a pattern's first character and then compares, and JSON text
 * is full of quotes, so a quoted pattern is compared at almost every key and string. The finder looks
 * for the pattern without its quote (`usage"`: its first letter is much rarer) and checks the quote
 * before each match. `find(text, from)` equals `text.indexOf(pattern, from)` for every text.
 */
export function quotedPatternFinder(pattern: string): (text: string, from?: number) => number {
  if (pattern.charCodeAt(0) !== 34 /* " */ || pattern.length < 2)
    throw new Error(`quotedPatternFinder: ${pattern} does not start with a quote`);
  const rest = pattern.slice(1);
  return (text, from = 0) => {
    let at = text.indexOf(rest, Math.max(from, 0) + 1);
    while (at !== -1) {
      if (text.charCodeAt(at - 1) === 34) return at - 1;
      at = text.indexOf(rest, at + 1);
    }
    return -1;
  };
}
