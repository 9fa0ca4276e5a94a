/**
 * The usage chunk a client asked for gets the cost in its usage. Its text is the upstream's with
 * `"cost"` added where that is plain, else the handler serialises the chunk: either way the client
 * parses `{ ...chunk, usage: { ...usage, cost } }`, keys in the same order.
 */
import { describe, expect, it } from "vitest";
import { UsageWithCostItem, usageTextWithCost } from "./usage-with-cost";

const spreadText = (raw: string, cost: number | null) => {
  const chunk = JSON.parse(raw) as Record<string, unknown>;
  return JSON.stringify({ ...chunk, usage: { ...(chunk.usage as object), cost } });
};

const usage = {
  prompt_tokens: 19,
  completion_tokens: 12,
  total_tokens: 31,
  prompt_tokens_details: { cached_tokens: 0 },
};
const base = { id: "c1", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices: [] };

describe("usageTextWithCost", () => {
  it("adds the cost to the upstream's text when the usage is plainly its last member", () => {
    const raws = [
      JSON.stringify({ ...base, usage }),
      JSON.stringify({ ...base, usage: {} }),
      // spacing and escapes elsewhere stay as the upstream wrote them
      `{ "id" : "c\\u0031", "choices": [],\n "usage":${JSON.stringify(usage)}}`,
    ];
    for (const raw of raws)
      for (const cost of [0.000123, 0, null, 1e-9]) {
        const text = usageTextWithCost(raw, (JSON.parse(raw) as { usage: unknown }).usage, cost);
        expect(text, raw).toBeDefined();
        expect(JSON.stringify(JSON.parse(text!))).toBe(spreadText(raw, cost));
        expect(text!.startsWith(raw.slice(0, raw.indexOf('"usage"')))).toBe(true);
      }
  });

  it("leaves the rest to the serialiser: usage not last, spaced, with a cost already, not an object", () => {
    const cases: Array<[string, unknown]> = [
      [JSON.stringify({ usage, ...base }), usage],
      [`{"id":"c1","usage": ${JSON.stringify(usage)}}`, usage],
      [`{"id":"c1","usage":${JSON.stringify(usage)} }`, usage],
      [`{"id":"c1","usage":{"prompt_tokens": 19}}`, { prompt_tokens: 19 }],
      [JSON.stringify({ ...base, usage: { ...usage, cost: 5 } }), { ...usage, cost: 5 }],
      [JSON.stringify({ ...base, usage: null }), null],
      [JSON.stringify({ ...base, usage: [1] }), [1]],
      // the last member is another key whose value ends like the usage
      [`{"usage":{"a":1},"x":{"a":1}}`, { a: 1 }],
      // no room for the key before the usage's text
      [`{"a":1}`, { a: 1 }],
      [`{"a":{"b":1}}`, { b: 1 }],
    ];
    for (const [raw, parsedUsage] of cases)
      expect(usageTextWithCost(raw, parsedUsage, 0.5), raw).toBeUndefined();
  });
});

describe("UsageWithCostItem", () => {
  it("carries the usage, the text with the cost, and the chunk with the cost when read", () => {
    const raw = JSON.stringify({ ...base, usage });
    const item = {
      chunk: JSON.parse(raw) as Record<string, unknown>,
      raw,
      usageOnly: true,
      usage: {} as never,
    };
    const priced = new UsageWithCostItem(item, 0.25);
    expect(priced.usageOnly).toBe(true);
    expect(priced.usage).toBe(item.usage);
    expect(JSON.parse(priced.raw!)).toEqual({ ...base, usage: { ...usage, cost: 0.25 } });
    expect(priced.chunk).toEqual({ ...base, usage: { ...usage, cost: 0.25 } });
    // the upstream's chunk is not changed
    expect((item.chunk.usage as Record<string, unknown>).cost).toBeUndefined();
  });

  it("without raw text (a replayed or translated chunk) it has none, and the handler serialises the chunk", () => {
    const item = { chunk: { ...base, usage }, usageOnly: true };
    const priced = new UsageWithCostItem(item, null);
    expect(priced.raw).toBeUndefined();
    expect(JSON.stringify(priced.chunk)).toBe(JSON.stringify({ ...base, usage: { ...usage, cost: null } }));
  });
});
