import { closingQuote, stringValue } from "../../upstream/json-string";
import { quotedPatternFinder } from "../../upstream/quoted-pattern";

const DELTA_KEY = '"delta":';
/** Finds a `"delta":` key (see quotedPatternFinder). */
export const findDelta = quotedPatternFinder(DELTA_KEY);
/** Shapes a stream may learn without any event matching them before it stops learning. */
const UNPRODUCTIVE_LEARNS = 3;
/** A delta whose first key is a content string. */
const CONTENT_ONLY_DELTA = '{"content":"';

/** Where `plainContentOpen` found the content's closing quote (read right after it; one flag, not an object). */
let plainContentClose = -1;

/**
 * The index of the quote that opens the content string when an event's first delta is exactly
 * `{"content":"…"}` and no second delta follows; -1 otherwise. The closing quote is then at
 * `plainContentEnd()`, read right after this call.
 */
export function plainContentOpen(raw: string): number {
  const delta = findDelta(raw);
  if (delta === -1 || !raw.startsWith(CONTENT_ONLY_DELTA, delta + DELTA_KEY.length)) return -1;
  const open = delta + DELTA_KEY.length + CONTENT_ONLY_DELTA.length - 1;
  const end = closingQuote(raw, open);
  if (end === -1 || raw.charCodeAt(end + 1) !== 125 /* } */ || findDelta(raw, end) !== -1) return -1;
  plainContentClose = end;
  return open;
}

/** The closing quote found by the last `plainContentOpen` that answered an index. */
export function plainContentEnd(): number {
  return plainContentClose;
}

/**
 * The text around the content of one stream's plain content events. The events of a stream differ
 * in little but their content: `{"id":"chatcmpl-1",…,"choices":[{"index":0,"delta":{"content":"` +
 * text + `"},"logprobs":null,"finish_reason":null}],"usage":null}`. Once an event has been checked
 * in full (`isContentOnly`, three key searches over the whole event) and its first choice's delta is
 * one content string (`learn`), an event with the same text before and after a single JSON string is
 * content-only as well, with that string as its content (`contentOf`): two comparisons and a scan of
 * the content, instead of the searches and reading its delta again. The checked event's keys are the
 * new event's keys (the string holds no unescaped quote, so it adds none); a string that ends at the
 * shared head's quote or starts at the tail's is a value, never a key (the tail's quote is followed by
 * `}`). One per stream.
 */
export class ContentEventShape {
  /** The learned event up to the content's opening quote (included); empty while none is learned. */
  private head = "";
  /** The learned event from the content's closing quote. */
  private tail = "";
  /** Whether an event matched the shape learned last. */
  private matched = false;
  /** Shapes learned that no event matched: past UNPRODUCTIVE_LEARNS the stream's events differ too much. */
  private unproductive = 0;

  /** The content of an event with the learned shape (a string, possibly empty), else undefined. */
  contentOf(raw: string): string | undefined {
    const head = this.head;
    if (head.length === 0) return undefined;
    const tail = this.tail;
    const end = raw.length - tail.length;
    // compared as slices: V8's startsWith and endsWith compare a character at a time (about ten
    // times slower on a 170-character head), `===` on two flat strings compares memory
    if (end < head.length || raw.slice(0, head.length) !== head || raw.slice(end) !== tail) return undefined;
    const open = head.length - 1;
    if (closingQuote(raw, open) !== end) return undefined;
    const content = stringValue(raw, open, end);
    if (content !== undefined) this.matched = true;
    return content;
  }

  /**
   * Learns the shape of an event found content-only by a full check, when its first choice's delta is
   * one content string; answers that content (undefined when the event is not of that form). A
   * stream whose events never match what was learned (an id or a time that changes on every event)
   * stops learning after a few tries: the check of the first choice is not paid on every event, and
   * the reader of its content reads it as it would without the shape (`deltaContentOf`).
   */
  learn(raw: string): string | undefined {
    if (this.head.length > 0 && !this.matched && ++this.unproductive >= UNPRODUCTIVE_LEARNS) return undefined;
    const open = plainContentOpen(raw);
    if (open === -1) return undefined;
    const end = plainContentClose;
    const content = stringValue(raw, open, end);
    if (
      content === undefined ||
      !deltaOfFirstChoice(raw, open - DELTA_KEY.length - CONTENT_ONLY_DELTA.length + 1)
    )
      return undefined;
    this.head = raw.slice(0, open + 1);
    this.tail = raw.slice(end);
    this.matched = false;
    return content;
  }
}

/**
 * Whether the delta key at `delta` is a member of the first element of the top-level `choices`
 * array: outside strings, the text before it opens exactly the event's object, `choices`' array and
 * its first element, and closes nothing. (A delta elsewhere is left to the parser.)
 */
function deltaOfFirstChoice(raw: string, delta: number): boolean {
  let depth = 0;
  let choicesAt = -1;
  let at = 0;
  while (at < delta) {
    const code = raw.charCodeAt(at);
    if (code === 34 /* " */) {
      const end = closingQuote(raw, at);
      if (end === -1 || end >= delta) return false;
      at = end + 1;
      continue;
    }
    if (code === 123 /* { */) {
      // the event's object, then the first choice (right after the array opened)
      if (depth === 0 ? at !== 0 : depth !== 2 || choicesAt !== at - 1) return false;
      depth++;
    } else if (code === 91 /* [ */) {
      if (depth !== 1 || !raw.endsWith('"choices":', at)) return false;
      choicesAt = at;
      depth++;
    } else if (code === 125 /* } */ || code === 93 /* ] */) return false;
    at++;
  }
  return depth === 3;
}
