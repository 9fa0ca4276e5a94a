/**
 * Reading one JSON string in JSON text without parsing the text around it: `closingQuote` finds where
 * the string ends, `stringValue` gives its value. Used to read a stream event's content without
 * parsing the event.
 */

/**
 * Whether the string closed by `closingQuote` held a backslash or a control character (which
 * JSON.parse refuses): then it is parsed, else the text between the quotes is its value. Set by
 * every `closingQuote`, read right after it (one flag, not an object per string).
 */
let escapedString = false;

/** Index of the quote that closes the JSON string opened at `open`, or -1 when the text ends first. */
export function closingQuote(raw: string, open: number): number {
  let end = open + 1;
  let escaped = false;
  while (end < raw.length) {
    const code = raw.charCodeAt(end);
    if (code === 92 /* \ */) {
      escaped = true;
      end += 2;
    } else if (code === 34 /* " */) {
      escapedString = escaped;
      return end;
    } else {
      if (code < 32) escaped = true;
      end++;
    }
  }
  return -1;
}

/**
 * The value of the JSON string from `open` to `end` (its quotes), just scanned by `closingQuote`;
 * undefined when it is not a valid JSON string.
 */
export function stringValue(raw: string, open: number, end: number): string | undefined {
  if (!escapedString) return raw.slice(open + 1, end);
  try {
    const value: unknown = JSON.parse(raw.slice(open, end + 1));
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
