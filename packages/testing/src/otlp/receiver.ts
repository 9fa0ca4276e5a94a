/**
 * startOtlpReceiver: an in-process OTLP/HTTP trace receiver for tests. It accepts protobuf and
 * JSON export requests (gzip too) on any path ending in /v1/traces — which covers the OTLP
 * default (/v1/traces, also MLflow's) and Langfuse's /api/public/otel/v1/traces — decodes them
 * into flat spans, and mocks Langfuse's POST /api/public/scores. Failures and delays can be
 * injected to play a backend that is down or slow.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { countProtobufSpans } from "./count-spans";
import { decodeJsonTraces, decodeProtobufTraces } from "./decode";
import type { DecodedSpan, OtlpReceiver, OtlpReceiverOptions, ReceivedRequest, ReceivedScore } from "./types";

const TRACES_SUFFIX = "/v1/traces";
const SCORES_PATH = "/api/public/scores";
const MAX_BODY_BYTES = 32 * 1024 * 1024;

interface Waiter {
  done: () => boolean;
  resolve: () => void;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error("body too large");
    chunks.push(buffer);
  }
  const body = Buffer.concat(chunks);
  return request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

function reply(response: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  response.end(body);
}

export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const spans: DecodedSpan[] = [];
  const requests: ReceivedRequest[] = [];
  const scores: ReceivedScore[] = [];
  const failures: number[] = [];
  const delays: number[] = [];
  let waiters: Waiter[] = [];
  let scoreCounter = 0;

  const notify = () => {
    const pending: Waiter[] = [];
    for (const waiter of waiters) {
      if (waiter.done()) waiter.resolve();
      else pending.push(waiter);
    }
    waiters = pending;
  };

  const record = (request: IncomingMessage, path: string, status: number, spanCount: number) => {
    requests.push({
      method: request.method ?? "",
      path,
      headers: { ...request.headers },
      contentType: String(request.headers["content-type"] ?? ""),
      status,
      spanCount,
    });
    notify();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const isTraces = path.endsWith(TRACES_SUFFIX);
    const isScores = path === SCORES_PATH;
    if (request.method !== "POST" || (!isTraces && !isScores)) {
      record(request, path, 404, 0);
      reply(response, 404, "application/json", JSON.stringify({ error: "not found" }));
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch {
      record(request, path, 413, 0);
      reply(response, 413, "application/json", JSON.stringify({ error: "body too large" }));
      return;
    }
    const delay = delays.shift();
    if (delay !== undefined && delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const failure = failures.shift();
    if (failure !== undefined) {
      record(request, path, failure, 0);
      reply(response, failure, "application/json", JSON.stringify({ error: `injected failure ${failure}` }));
      return;
    }
    const contentType = String(request.headers["content-type"] ?? "").toLowerCase();
    if (isScores) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        record(request, path, 400, 0);
        reply(response, 400, "application/json", JSON.stringify({ message: "invalid JSON" }));
        return;
      }
      const id = `score-${++scoreCounter}`;
      scores.push({ headers: { ...request.headers }, body: parsed, id });
      record(request, path, 200, 0);
      reply(response, 200, "application/json", JSON.stringify({ id }));
      return;
    }
    const json = contentType.includes("json");
    const protobufBody = contentType.includes("protobuf");
    if (!json && !protobufBody) {
      record(request, path, 415, 0);
      reply(
        response,
        415,
        "application/json",
        JSON.stringify({ error: `unsupported content-type ${contentType}` }),
      );
      return;
    }
    let spanCount: number;
    try {
      if (options.countOnly && !json) spanCount = countProtobufSpans(body);
      else {
        const decoded = json
          ? decodeJsonTraces(body.toString("utf8"), path)
          : decodeProtobufTraces(body, path);
        if (!options.countOnly) spans.push(...decoded);
        spanCount = decoded.length;
      }
    } catch (error) {
      record(request, path, 400, 0);
      reply(response, 400, "application/json", JSON.stringify({ error: `cannot decode: ${String(error)}` }));
      return;
    }
    record(request, path, 200, spanCount);
    // An empty ExportTraceServiceResponse: zero bytes in protobuf, {} in JSON.
    if (json) reply(response, 200, "application/json", "{}");
    else reply(response, 200, "application/x-protobuf", Buffer.alloc(0));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent)
        reply(response, 500, "application/json", JSON.stringify({ error: "receiver error" }));
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  const waitFor = <T>(
    done: () => boolean,
    result: () => T,
    timeoutMs: number,
    what: () => string,
  ): Promise<T> => {
    if (done()) return Promise.resolve(result());
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve(result());
        },
      };
      const timer = setTimeout(() => {
        waiters = waiters.filter((item) => item !== waiter);
        reject(new Error(`OTLP receiver: timed out after ${timeoutMs} ms; ${what()}`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };

  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    langfuseTracesUrl: `${url}/api/public/otel/v1/traces`,
    spans,
    requests,
    scores,
    waitForSpans(count, timeoutMs = 5000) {
      return waitFor(
        () => spans.length >= count,
        () => spans,
        timeoutMs,
        () =>
          `wanted ${count} spans, received ${spans.length} (${spans.map((span) => span.name).join(", ")})`,
      );
    },
    waitForRequests(count, timeoutMs = 5000) {
      return waitFor(
        () => requests.length >= count,
        () => requests,
        timeoutMs,
        () => `wanted ${count} requests, received ${requests.length}`,
      );
    },
    failNext(status, count = 1) {
      for (let index = 0; index < count; index++) failures.push(status);
    },
    delayNext(delayMs, count = 1) {
      for (let index = 0; index < count; index++) delays.push(delayMs);
    },
    reset() {
      spans.length = 0;
      requests.length = 0;
      scores.length = 0;
      failures.length = 0;
      delays.length = 0;
      scoreCounter = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
