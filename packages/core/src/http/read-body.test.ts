import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { isLlmuxError } from "../errors/llmux-error";
import { readJsonBody } from "./read-body";

async function post(body: string, options: { chunked?: boolean; limit?: number; parsed?: unknown } = {}) {
  const server = createServer((request, response) => {
    readJsonBody(request, options.limit ?? 1024, options.parsed).then(
      (value) => response.end(JSON.stringify({ ok: value })),
      (error) =>
        response.end(
          JSON.stringify({ status: isLlmuxError(error) ? error.status : 0, message: String(error.message) }),
        ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const text = await new Promise<string>((resolve, reject) => {
    const request = httpRequest(
      {
        port,
        host: "127.0.0.1",
        method: "POST",
        path: "/",
        headers: options.chunked
          ? { "transfer-encoding": "chunked" }
          : { "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        let data = "";
        response.on("data", (chunk) => (data += chunk));
        response.on("end", () => resolve(data));
      },
    );
    request.on("error", reject);
    if (options.chunked)
      for (let index = 0; index < body.length; index += 100) request.write(body.slice(index, index + 100));
    else request.write(body);
    request.end();
  });
  server.close();
  return JSON.parse(text) as { ok?: unknown; status?: number; message?: string };
}

describe("readJsonBody", () => {
  it("parses a JSON object", async () => {
    expect(await post('{"model":"m"}')).toEqual({ ok: { model: "m" } });
  });
  it("413 from content-length before reading", async () => {
    expect((await post("x".repeat(2000))).status).toBe(413);
  });
  it("413 while reading a chunked body without content-length", async () => {
    expect((await post(`{"a":"${"x".repeat(3000)}"}`, { chunked: true })).status).toBe(413);
  });
  it("400 for malformed JSON, an empty body and a non-object", async () => {
    expect(await post("{bad")).toMatchObject({ status: 400 });
    expect(await post("")).toMatchObject({ status: 400 });
    expect(await post("[1,2]")).toMatchObject({ status: 400 });
  });
  it("uses the host's parsed body but still enforces the limit by content-length", async () => {
    expect(await post('{"ignored":true}', { parsed: { model: "from-host" } })).toEqual({
      ok: { model: "from-host" },
    });
    expect((await post("x".repeat(2000), { parsed: { model: "big" } })).status).toBe(413);
  });
  it("accepts 256 levels of nesting and refuses 257 (arrays and objects), 100 000 without overflowing", async () => {
    const nested = (levels: number, open: string, close: string) =>
      `{"a":${open.repeat(levels - 2)}1${close.repeat(levels - 2)}}`;
    // the root object is level 1, the innermost container level `levels - 1` holds a number
    expect((await post(nested(257, "[", "]"), { limit: 10_000 })).ok).toBeDefined();
    expect(await post(nested(258, "[", "]"), { limit: 10_000 })).toMatchObject({ status: 400 });
    expect((await post(nested(257, '{"b":', "}"), { limit: 10_000 })).ok).toBeDefined();
    expect(await post(nested(258, '{"b":', "}"), { limit: 10_000 })).toMatchObject({ status: 400 });
    const mixed = `{"m":[{"n":${"[".repeat(300)}${"]".repeat(300)}}]}`;
    expect(await post(mixed, { limit: 10_000 })).toMatchObject({ status: 400 });
    const deep = `{"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    expect(await post(deep, { limit: 1_000_000 })).toMatchObject({ status: 400 });
  });
});
