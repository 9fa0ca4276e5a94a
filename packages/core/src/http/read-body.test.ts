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
});
