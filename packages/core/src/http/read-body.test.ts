import { once } from "node:events";
import { Agent, createServer, request as httpRequest, IncomingMessage } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { describe, expect, it } from "vitest";
import { isLlmuxError } from "../errors/llmux-error";
import { readJsonBody } from "./read-body";

interface PostOptions {
  chunked?: boolean;
  limit?: number;
  parsed?: unknown;
  /**
   * Sends the request from a raw socket: the headers and the body in one write (`0`: a body the
   * parser has when the route runs), or the body that many milliseconds after the headers.
   */
  bodyAfterMs?: number;
  /** Sees how the server read it: whether a 'data' listener was added, and whether the request ended and closed. */
  seen?: { dataListeners: number; ended: boolean; closed: boolean };
}

async function post(body: string, options: PostOptions = {}) {
  const server = createServer((request, response) => {
    const seen = options.seen;
    if (seen) {
      const on = request.on.bind(request);
      request.on = ((event: string, listener: (...args: unknown[]) => void) => {
        if (event === "data") seen.dataListeners++;
        return on(event, listener);
      }) as typeof request.on;
      request.once("end", () => (seen.ended = true));
      request.once("close", () => (seen.closed = true));
    }
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
  if (options.bodyAfterMs !== undefined) {
    const text = await rawPost(port, body, options.bodyAfterMs);
    server.close();
    return JSON.parse(text) as { ok?: unknown; status?: number; message?: string };
  }
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
    if (options.chunked) {
      // 100-byte pieces: multi-byte characters are cut across chunks
      const bytes = Buffer.from(body);
      for (let index = 0; index < bytes.length; index += 100)
        request.write(bytes.subarray(index, index + 100));
    } else request.write(body);
    request.end();
  });
  server.close();
  return JSON.parse(text) as { ok?: unknown; status?: number; message?: string };
}

/** An HTTP/1.1 POST from a raw socket (connection: close), the body `bodyAfterMs` after the headers (0: in the same write). */
async function rawPost(port: number, body: string, bodyAfterMs: number): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  const head = `POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
  if (bodyAfterMs === 0) socket.write(head + body);
  else {
    socket.write(head);
    setTimeout(() => socket.write(body), bodyAfterMs);
  }
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  await once(socket, "end");
  const response = Buffer.concat(chunks).toString("utf8");
  return response.slice(response.indexOf("\r\n\r\n") + 4);
}

describe("readJsonBody", () => {
  it("parses a JSON object", async () => {
    expect(await post('{"model":"m"}')).toEqual({ ok: { model: "m" } });
  });
  it("a body that came with the headers is taken from the parser's buffer in one read, and the request still ends and closes", async () => {
    const seen = { dataListeners: 0, ended: false, closed: false };
    const body = JSON.stringify({ model: "m", text: "é€😀".repeat(200) });
    expect(await post(body, { seen, limit: 10_000, bodyAfterMs: 0 })).toEqual({ ok: JSON.parse(body) });
    expect(seen).toEqual({ dataListeners: 0, ended: true, closed: true });
    const empty = { dataListeners: 0, ended: false, closed: false };
    expect(await post("", { seen: empty, bodyAfterMs: 0 })).toMatchObject({ status: 400 });
    expect(empty).toEqual({ dataListeners: 0, ended: true, closed: true });
  });
  it("a body read whole from the parser's buffer is not drained again when the response finishes; the connection serves the next call", async () => {
    // Node drains (`_dump`) a request it thinks nobody read; counted on the prototype for this test
    const prototype = IncomingMessage.prototype as unknown as { _dump: () => void };
    const drain = prototype._dump;
    let drained = 0;
    prototype._dump = function counted(this: IncomingMessage) {
      drained++;
      drain.call(this);
    };
    const server = createServer((request, response) => {
      readJsonBody(request, 1024).then(
        (value) => response.end(JSON.stringify(value)),
        (error: Error) => response.end(error.message),
      );
    });
    try {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<unknown>();
      const answers: string[] = [];
      for (let index = 0; index < 3; index++) {
        answers.push(
          await new Promise<string>((resolve, reject) => {
            const request = httpRequest(
              { port, host: "127.0.0.1", method: "POST", path: "/", agent },
              (response) => {
                sockets.add(response.socket);
                let data = "";
                response.on("data", (chunk) => (data += chunk));
                response.on("end", () => resolve(data));
              },
            );
            request.on("error", reject);
            request.end(JSON.stringify({ call: index }));
          }),
        );
      }
      agent.destroy();
      expect(answers).toEqual(['{"call":0}', '{"call":1}', '{"call":2}']);
      expect(sockets.size).toBe(1);
      expect(drained).toBe(0);
    } finally {
      prototype._dump = drain;
      server.close();
    }
  });
  it("a body that comes after the headers is read as it arrives (multi-byte characters across chunks)", async () => {
    const seen = { dataListeners: 0, ended: false, closed: false };
    const body = JSON.stringify({ model: "m", text: "é€😀".repeat(200) });
    expect(await post(body, { seen, limit: 10_000, bodyAfterMs: 50 })).toEqual({ ok: JSON.parse(body) });
    expect(seen.dataListeners).toBe(1);
    const chunked = { dataListeners: 0, ended: false, closed: false };
    expect(await post(body, { seen: chunked, limit: 10_000, chunked: true })).toEqual({
      ok: JSON.parse(body),
    });
  });
  it("a client that sends half its body and leaves gets an aborted read, not a hang (also when it left before the read began)", async () => {
    const read = (destroyFirst: boolean) =>
      new Promise<{ kind?: string } | "hung">((resolve) => {
        const timer = setTimeout(() => resolve("hung"), 2000);
        const server = createServer((request) => {
          const start = () =>
            readJsonBody(request, 1024).then(
              () => resolve({}),
              (error: { kind?: string }) => {
                clearTimeout(timer);
                resolve({ kind: error.kind });
              },
            );
          if (!destroyFirst) return void start();
          // the request is gone (its 'close' emitted) before anything reads it
          request.once("close", () => setImmediate(start));
          request.destroy();
        });
        server.listen(0, "127.0.0.1", () => {
          const socket = connect((server.address() as AddressInfo).port, "127.0.0.1", () => {
            // headers announcing 100 bytes, 10 of them, and the end of the connection, in one write
            socket.end('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"model":');
          });
          socket.on("error", () => undefined);
          socket.on("close", () => server.close());
        });
      });
    expect(await read(false)).toEqual({ kind: "aborted" });
    expect(await read(true)).toEqual({ kind: "aborted" });
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
