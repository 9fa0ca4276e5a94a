/** quotedPatternFinder answers as indexOf does, for any text and start: JSON, overlaps, edges. */
import { describe, expect, it } from "vitest";
import { quotedPatternFinder } from "./quoted-pattern";

const patterns = ['"usage"', '"finish_reason"', '"error"', '"delta":', '"content"', '"a"', '""'];
const texts = [
  "",
  '"',
  '"usage"',
  'usage"',
  '""usage"',
  '"usage"usage"',
  '""""',
  '"a"a"a"',
  '{"id":"x","choices":[{"index":0,"delta":{"content":"say \\"usage\\": usage\\""},"finish_reason":null}]}',
  '{"choices":[],"usage":{"prompt_tokens":1},"error" :{"message":"e"},"x":"finish_reason"}',
  '{"delta": {"content" : "a"}, "delta":{}, "content":null}',
];

describe("quotedPatternFinder", () => {
  it("finds what indexOf finds, from every start", () => {
    for (const pattern of patterns) {
      const find = quotedPatternFinder(pattern);
      for (const text of texts)
        for (let from = -2; from <= text.length + 2; from++) {
          expect(find(text, from), `${pattern} in ${text} from ${from}`).toBe(text.indexOf(pattern, from));
        }
    }
  });

  it("agrees with indexOf on random quote-heavy texts", () => {
    const alphabet = ['"', "a", "u", "s", "g", "e", ":", " ", "\\"];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const find = quotedPatternFinder('"usage"');
    const findShort = quotedPatternFinder('"a"');
    for (let run = 0; run < 2000; run++) {
      let text = "";
      const length = Math.floor(random() * 40);
      for (let index = 0; index < length; index++) text += alphabet[Math.floor(random() * alphabet.length)];
      if (random() < 0.5) text = text.replace("u", '"usage"');
      const from = Math.floor(random() * (length + 1));
      expect(find(text, from)).toBe(text.indexOf('"usage"', from));
      expect(find(text)).toBe(text.indexOf('"usage"'));
      expect(findShort(text, from)).toBe(text.indexOf('"a"', from));
    }
  });

  it("refuses a pattern that does not start with a quote", () => {
    expect(() => quotedPatternFinder("usage")).toThrow();
  });
});
