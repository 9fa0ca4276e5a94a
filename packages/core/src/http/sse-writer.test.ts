import { createServer, request as httpRequest, type ServerResponse } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { describe, expect, it } from "vitest";
import { SseWriter } from "./sse-writer";

/** A real server whose handler gets the writer; the client decides how fast it reads. */
async function withServer(handler: (writer: SseWriter, response: ServerResponse) => Promise<void>) {
  let done!: Promise<void>;
  const server = createServer((_request, response) => {
    const writer = new SseWriter(response);
    writer.open(200, { "x-test": "1" });
    done = handler(writer, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, done: () => done };
}

describe("SseWriter", () => {
  it("waits for drain when the client does not read (backpressure), then continues", async () => {
    const payload = "x".repeat(64 * 1024);
    let blockedWrites = 0;
    let written = 0;
    const { server, port, done } = await withServer(async (writer, response) => {
      for (let index = 0; index < 200; index++) {
        const before = response.writableLength;
        const pending = writer.data(payload);
        let settled = false;
        void pending.then(() => (settled = true));
        await Promise.resolve();
        if (!settled && before >= 0) blockedWrites++;
        await pending;
        written++;
      }
      writer.end("data: [DONE]\n\n");
    });
    const received = await new Promise<number>((resolve) => {
      const request = httpRequest({ port, host: "127.0.0.1", path: "/" }, (response) => {
        response.pause();
        // read nothing for a while: the writer must be waiting, not buffering 12 MB
        setTimeout(() => {
          expect(written).toBeLessThan(200);
          let bytes = 0;
          response.on("data", (chunk: Buffer) => (bytes += chunk.length));
          response.on("end", () => resolve(bytes));
          response.resume();
        }, 200);
      });
      request.end();
    });
    await done();
    expect(written).toBe(200);
    expect(blockedWrites).toBeGreaterThan(0);
    expect(received).toBeGreaterThan(200 * payload.length);
    server.close();
  });

  it("answers the connection the client asked for: kept alive, or closed after the stream", async () => {
    const { server, port } = await withServer(async (writer) => {
      writer.end("data: [DONE]\n\n");
    });
    const stream = (connection: string) =>
      new Promise<{ connection: string | undefined; body: string; closedByServer: boolean }>((resolve) => {
        const socket = connect(port, "127.0.0.1", () =>
          socket.write(`GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: ${connection}\r\n\r\n`),
        );
        let text = "";
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString("latin1");
          // the chunked body's last chunk: the stream is over, whatever the socket does next
          if (text.endsWith("0\r\n\r\n")) setTimeout(() => finish(false), 300);
        });
        socket.on("end", () => finish(true));
        const finish = (closedByServer: boolean) => {
          if (socket.destroyed) return;
          socket.destroy();
          const [head = "", body = ""] = text.split("\r\n\r\n");
          const line = head.split("\r\n").find((header) => header.toLowerCase().startsWith("connection:"));
          resolve({ connection: line?.slice(11).trim().toLowerCase(), body, closedByServer });
        };
      });
    // sent: `Connection: close`; came back: `Connection: close`, and the server closed the socket
    expect(await stream("close")).toMatchObject({ connection: "close", closedByServer: true });
    // sent: `Connection: keep-alive`; came back: `keep-alive`, the socket left open for the next call
    const kept = await stream("keep-alive");
    expect(kept).toMatchObject({ connection: "keep-alive", closedByServer: false });
    expect(kept.body).toContain("data: [DONE]");
    server.closeAllConnections();
    server.close();
  });

  it("a client that goes away releases a writer waiting for drain and marks it closed", async () => {
    let closedSeen = false;
    const { server, port, done } = await withServer(async (writer) => {
      const payload = "y".repeat(256 * 1024);
      for (let index = 0; index < 100 && !writer.isClosed; index++) await writer.data(payload);
      closedSeen = writer.isClosed;
    });
    await new Promise<void>((resolve) => {
      const request = httpRequest({ port, host: "127.0.0.1", path: "/" }, (response) => {
        response.pause();
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 100);
      });
      request.end();
    });
    await done();
    expect(closedSeen).toBe(true);
    server.close();
  });

  it("joins the events of one tick into one write, and sends them before any later input", async () => {
    const writes: string[] = [];
    let received = "";
    let receivedBeforeEnd = "";
    const { server, port, done } = await withServer(async (writer, response) => {
      const write = response.write.bind(response) as (chunk: string) => boolean;
      response.write = ((chunk: string) => {
        writes.push(chunk);
        return write(chunk);
      }) as typeof response.write;
      // As in the routes, events are written from promise continuations (an upstream read resolved a
      // promise), not synchronously in an I/O callback: three events in one tick, each awaited.
      await Promise.resolve();
      for (const name of ["a", "b", "c"]) await writer.data(`{"n":"${name}"}`);
      // a later upstream read: the first three must have reached the client by now
      await new Promise((resolve) => setTimeout(resolve, 100));
      receivedBeforeEnd = received;
      await writer.data(`{"n":"d"}`, "delta");
      writer.end("data: [DONE]\n\n");
    });
    await new Promise<void>((resolve) => {
      const request = httpRequest({ port, host: "127.0.0.1", path: "/" }, (response) => {
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (received += chunk));
        response.on("end", () => resolve());
      });
      request.end();
    });
    await done();
    expect(writes).toEqual(['data: {"n":"a"}\n\ndata: {"n":"b"}\n\ndata: {"n":"c"}\n\n']);
    expect(receivedBeforeEnd).toBe('data: {"n":"a"}\n\ndata: {"n":"b"}\n\ndata: {"n":"c"}\n\n');
    // the last event was still held when the stream ended: it leaves with the end, in order
    expect(received).toBe(`${receivedBeforeEnd}event: delta\ndata: {"n":"d"}\n\ndata: [DONE]\n\n`);
    server.close();
  });
});
