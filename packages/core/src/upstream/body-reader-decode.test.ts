/**
 * BodyReader.next decodes most pieces without a TextDecoder (those that end on a whole character):
 * the texts it returns are the same as one streaming TextDecoder's, whatever the pieces' cuts (inside
 * a character, after an invalid byte, a leading BOM), and pieces that are Uint8Arrays, not Buffers.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { BodyReader } from "./body-reader";

async function readAll(pieces: Uint8Array[]): Promise<string[]> {
  const body = new PassThrough();
  const reader = BodyReader.of(body);
  const texts: string[] = [];
  for (const piece of pieces) {
    body.write(piece);
    texts.push((await reader.next())!);
  }
  body.end();
  expect(await reader.next()).toBeUndefined();
  return texts;
}

function decodedByOneDecoder(pieces: Uint8Array[]): string[] {
  const decoder = new TextDecoder();
  return pieces.map((piece) => decoder.decode(piece, { stream: true }));
}

/** The bytes cut at the given offsets. */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const end of [...at, bytes.length]) {
    if (end <= start) continue;
    pieces.push(bytes.subarray(start, end));
    start = end;
  }
  return pieces;
}

const text = 'data: {"content":"héllo wörld 吾輩は猫 🐈"}\n\ndata: {"content":"ascii"}\n\n';
const bytes = new Uint8Array(Buffer.from(text));

describe("BodyReader.next", () => {
  it("gives one streaming TextDecoder's texts for every cut of a body with multi-byte characters", async () => {
    for (let first = 1; first < bytes.length; first += 3) {
      const pieces = cut(bytes, [first, Math.min(bytes.length - 1, first + 7)]);
      const texts = await readAll(pieces);
      expect(texts).toEqual(decodedByOneDecoder(pieces));
      expect(texts.join("")).toBe(text);
    }
  });

  it("drops a leading BOM as the decoder does, and replaces invalid bytes the same way", async () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from("data: x\n\n")]);
    expect(await readAll([withBom])).toEqual(["data: x\n\n"]);
    const invalid = [new Uint8Array([0x61, 0xff, 0x62, 0x0a]), new Uint8Array([0xc3, 0x28, 0x0a])];
    expect(await readAll(invalid)).toEqual(decodedByOneDecoder(invalid));
  });

  it("decodes Uint8Array pieces (not Buffers) of a larger buffer", async () => {
    const backing = new Uint8Array(bytes.length + 8);
    backing.set(bytes, 4);
    const piece = backing.subarray(4, 4 + bytes.length);
    expect(await readAll([piece])).toEqual([text]);
  });
});
