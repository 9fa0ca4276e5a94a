/**
 * The stream assembler reads the text of plain content events from their raw JSON without parsing
 * them; whatever it cannot read plainly (tool calls, several choices, other shapes) it parses. Checked
 * against JSON.parse on every shape: the same text either way.
 */
import { describe, expect, it } from "vitest";
import type { CallSuccess } from "./call-run";
import { deltaContentOf, StreamAssembler } from "./stream-assembler";

const parsedContent = (raw: string) =>
  (JSON.parse(raw) as { choices: Array<{ delta: { content?: string | null } }> }).choices[0]?.delta.content ??
  "";

describe("deltaContentOf", () => {
  it("reads the content string of a plain event exactly as JSON.parse does (escapes included)", () => {
    const texts = [
      "hello",
      'a "quoted" word',
      "back\\slash\\",
      "line\nbreak\ttab",
      "é 中文 😀",
      '\\"',
      "}{,:",
    ];
    for (const text of texts) {
      const raw = JSON.stringify({
        id: "c1",
        object: "chat.completion.chunk",
        model: "gpt-4o",
        choices: [{ index: 0, delta: { content: text }, finish_reason: null }],
      });
      expect(deltaContentOf(raw), raw).toBe(text);
      expect(deltaContentOf(raw)).toBe(parsedContent(raw));
    }
    // spaces around the colon, as some servers write them
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{"content" : "x"}}]}')).toBe("x");
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{ "content": "spaced" }}]}')).toBe("spaced");
  });

  it("null or no content is empty text; a role-only event is empty text", () => {
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{"content":null}}]}')).toBe("");
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{"role":"assistant"}}]}')).toBe("");
  });

  it("gives up (the caller parses) on tool calls, several choices, a content key outside the delta, other types", () => {
    expect(
      deltaContentOf(
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}',
      ),
    ).toBeUndefined();
    expect(
      deltaContentOf('{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}'),
    ).toBeUndefined();
    expect(
      deltaContentOf('{"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":{"content":"x"}}]}'),
    ).toBeUndefined();
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{"content":42}}]}')).toBeUndefined();
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{"audio":{"content":"x"}}}]}')).toBeUndefined();
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{"content":"cut')).toBeUndefined();
    // a raw control character in the string: not valid JSON, so not read plainly
    expect(deltaContentOf('{"choices":[{"index":0,"delta":{"content":"tab\there"}}]}')).toBeUndefined();
  });

  it("reads plain strings (no escape) as their text, the same as JSON.parse, at any place in the event", () => {
    const raws = [
      '{"choices":[{"index":0,"delta":{"content":""}}]}',
      '{"choices":[{"index":0,"delta":{"content":" benchmark"},"finish_reason":null}],"usage":null}',
      '{"id":"x","choices":[{"delta":{"role":"assistant","content":"\u00e9"},"index":0}]}',
      String.raw`{"id":"x","choices":[{"delta":{"content":"caf\u00e9 \"q\" \\"},"index":0}]}`,
      String.raw`{"x":"\"delta\": \"content\"","choices":[{"index":0,"delta":{"content":"after a quoted name"}}]}`,
      '{"choices":[{"index":0,"delta":{"content":"é 中文 😀 \u007f"}}]}',
    ];
    for (const raw of raws) expect(deltaContentOf(raw), raw).toBe(parsedContent(raw));
  });

  it("reads a delta that holds only its content string in one pass, whatever the rest of the event holds", () => {
    const raws = [
      '{"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"token":"a"}]}}]}',
      '{"choices":[{"index":0,"delta":{"content":"x\\"y}"},"logprobs":null}]}',
      '{"choices":[{"index":0,"delta":{"content":"with \\u00e9"}}],"note":"{\\"content\\":1}"}',
    ];
    for (const raw of raws) expect(deltaContentOf(raw), raw).toBe(parsedContent(raw));
    // a second delta (another choice) or a delta with more keys is still parsed by the caller
    expect(
      deltaContentOf('{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"role":"x"}}]}'),
    ).toBeUndefined();
    expect(
      deltaContentOf('{"choices":[{"index":0,"delta":{"content":"a","tool_calls":[{"index":0}]}}]}'),
    ).toBeUndefined();
  });
});

describe("StreamAssembler with content", () => {
  it("assembles the same message from raw content events as from parsed chunks", () => {
    const chunks = [
      { id: "c1", model: "gpt-4o", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] },
      { id: "c1", model: "gpt-4o", choices: [{ index: 0, delta: { content: 'He said "hi"\n' } }] },
      { id: "c1", model: "gpt-4o", choices: [{ index: 0, delta: { content: "é 😀" } }] },
      {
        id: "c1",
        model: "gpt-4o",
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, id: "t1", function: { name: "f", arguments: "{}" } }] },
          },
        ],
      },
      { id: "c1", model: "gpt-4o", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
    ];
    const fromRaw = new StreamAssembler(false);
    const fromParsed = new StreamAssembler(false);
    for (const [index, chunk] of chunks.entries()) {
      const raw = JSON.stringify(chunk);
      // the first and last are not content-only (id/model unknown yet; a finish reason)
      const contentOnly = index > 0 && index < chunks.length - 1;
      fromRaw.addItem(
        contentOnly
          ? {
              raw,
              contentOnly: true,
              get chunk() {
                return JSON.parse(raw) as Record<string, unknown>;
              },
            }
          : { raw, chunk },
      );
      fromParsed.add(chunk);
    }
    const a: CallSuccess = { deployment: {} as CallSuccess["deployment"], usage: null };
    const b: CallSuccess = { deployment: {} as CallSuccess["deployment"], usage: null };
    fromRaw.describe(a);
    fromParsed.describe(b);
    expect(a.response).toEqual(b.response);
    expect(a.response).toEqual([
      {
        role: "assistant",
        content: 'He said "hi"\né 😀',
        tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
    ]);
    expect(a.finishReasons).toEqual(["stop"]);
  });
});
