import { describe, expect, it } from "vitest";
import { ContentEventShape } from "./content-event-shape";
import { isContentOnly } from "./openai-stream";

/** An OpenAI stream event as the API sends it, with `delta` as given. */
function event(delta: string, options: { id?: string; finish?: string; usage?: string } = {}): string {
  return (
    `{"id":"${options.id ?? "chatcmpl-1"}","object":"chat.completion.chunk","created":1796680844,` +
    `"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":${delta},"logprobs":null,` +
    `"finish_reason":${options.finish ?? "null"}}],"usage":${options.usage ?? "null"}}`
  );
}
const content = (text: string) => event(`{"content":${JSON.stringify(text)}}`);

/** What the shape says of an event must be what parsing it says: content-only, and this delta content. */
function expectParsedAgrees(raw: string, answer: string | undefined): void {
  if (answer === undefined) return;
  expect(isContentOnly(raw), raw).toBe(true);
  const chunk = JSON.parse(raw) as { choices: Array<{ delta: Record<string, unknown> }> };
  expect(chunk.choices[0]!.delta, raw).toEqual({ content: answer });
}

function learned(raw = content("Mock")): ContentEventShape {
  const shape = new ContentEventShape();
  expect(shape.learn(raw)).toBe(JSON.parse(raw).choices[0].delta.content);
  return shape;
}

describe("ContentEventShape", () => {
  it("knows nothing before it learns an event", () => {
    expect(new ContentEventShape().contentOf(content("hi"))).toBeUndefined();
  });

  it("reads the content of later events of the same stream without parsing them", () => {
    const shape = learned();
    for (const text of [
      " reply:",
      "",
      "naïve — 東京 🎉",
      'say "usage": 5',
      "back\\slash",
      "line\nbreak",
      "tab\t",
    ]) {
      const raw = content(text);
      expect(shape.contentOf(raw), raw).toBe(text);
      expectParsedAgrees(raw, text);
    }
  });

  it("answers undefined for every event that is not the learned event with another content string", () => {
    const shape = learned();
    const others = [
      event("{}", { finish: '"stop"' }),
      event("{}", { usage: '{"prompt_tokens":3}' }),
      event('{"content":"a"}', { finish: '"length"' }),
      event('{"content":"a"}', { id: "chatcmpl-2" }),
      event('{"role":"assistant","content":""}'),
      event('{"content":"a","tool_calls":[{"index":0}]}'),
      event('{"content":null}'),
      // unescaped quotes: the middle would be keys, not a string
      event('{"content":"a","usage":{"prompt_tokens":1},"x":"b"}'),
      event('{"content":"a","role":"b"}'),
      // the content's last backslash escapes the quote that seems to close it
      `${content("x").slice(0, -'"},"logprobs":null,"finish_reason":null}],"usage":null}'.length)}\\"},"logprobs":null,"finish_reason":null}],"usage":null}`,
      content("x").slice(0, -1),
      `${content("x")} `,
      "[DONE]",
      "",
    ];
    for (const raw of others) expect(shape.contentOf(raw), raw).toBeUndefined();
  });

  it("an escape the parser refuses is left to the parser", () => {
    const shape = learned();
    const raw = content("x").replace('"x"', '"bad \\q escape"');
    expect(shape.contentOf(raw)).toBeUndefined();
  });

  it("learns again when the stream's events change", () => {
    const shape = learned();
    const next = event('{"content":"b"}', { id: "chatcmpl-2" });
    expect(shape.contentOf(next)).toBeUndefined();
    expect(shape.learn(next)).toBe("b");
    expect(shape.contentOf(event('{"content":"c"}', { id: "chatcmpl-2" }))).toBe("c");
    expect(shape.contentOf(content("c"))).toBeUndefined();
  });

  it("stops learning when the stream's events never match what it learned; a matching stream keeps learning", () => {
    const differing = new ContentEventShape();
    const answers: Array<string | undefined> = [];
    for (let index = 0; index < 6; index++) {
      const raw = event(`{"content":"part ${index}"}`, { id: `chatcmpl-${index}` });
      expect(differing.contentOf(raw)).toBeUndefined();
      answers.push(differing.learn(raw));
    }
    // three shapes learned and never matched; from the fourth try on it no longer learns
    expect(answers).toEqual(["part 0", "part 1", "part 2", undefined, undefined, undefined]);

    const changing = learned();
    for (let index = 2; index < 8; index++) {
      // every new id is learned once and then matched by the next event
      const first = event('{"content":"a"}', { id: `chatcmpl-${index}` });
      expect(changing.contentOf(first)).toBeUndefined();
      expect(changing.learn(first)).toBe("a");
      expect(changing.contentOf(event('{"content":"b"}', { id: `chatcmpl-${index}` }))).toBe("b");
    }
  });

  it("learns only a delta of one content string in the first choice", () => {
    const refused = [
      event('{"role":"assistant","content":""}'),
      event('{"content":"a","role":"x"}'),
      event('{"content":"a"},"extra":{"delta":{"content":"b"}}'),
      '{"meta":{"delta":{"content":"a"}},"choices":[{"index":0,"delta":{"content":"b"}}]}',
      '{"choices":[{"index":0,"delta":{"role":"x"}},{"index":1,"delta":{"content":"b"}}]}',
      '{"choices":[[{"index":0,"delta":{"content":"b"}}]]}',
      '{"other":[{"index":0,"delta":{"content":"b"}}]}',
      '{"choices":[{"index":0,"logprobs":{"x":1},"delta":{"content":"b"}}]}',
      '{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}',
      '{"choices":[{"index":0,"delta":{"content":"unclosed}}]}',
    ];
    for (const raw of refused) {
      const shape = new ContentEventShape();
      expect(shape.learn(raw), raw).toBeUndefined();
      expect(shape.contentOf(raw), raw).toBeUndefined();
    }
    // a key before the delta whose string holds brackets and braces is still a member of the choice
    const shape = new ContentEventShape();
    const raw = '{"id":"a{[}]","choices":[{"index":0,"note":"}{","delta":{"content":"b"}}]}';
    expect(shape.learn(raw)).toBe("b");
    expect(shape.contentOf(raw.replace('"b"', '"c"'))).toBe("c");
  });

  it("agrees with the parser on thousands of mutations of a learned event", () => {
    const base = content("Mock reply");
    const shape = learned(base);
    const alphabet = ['"', "\\", "{", "}", "[", "]", ":", ",", "a", " ", "u", "\n", "é"];
    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % below;
    };
    let answered = 0;
    for (let round = 0; round < 20_000; round++) {
      let raw = base;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(raw.length + 1);
        const piece = alphabet[random(alphabet.length)]!;
        raw =
          random(2) === 0 ? raw.slice(0, at) + piece + raw.slice(at) : raw.slice(0, at) + raw.slice(at + 1);
      }
      const answer = shape.contentOf(raw);
      if (answer === undefined) continue;
      answered++;
      expectParsedAgrees(raw, answer);
    }
    // most mutations land in the head or tail (refused); those inside the content are read
    expect(answered).toBeGreaterThan(100);
  });
});
