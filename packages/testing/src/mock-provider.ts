/**
 * The mock provider server: node:http with keep-alive, request recording, scenario and per-request
 * fault selection, and routing to the provider shapes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Exchange, type ExchangeSettings } from "./exchange.js";
import { errorWriterFor, routeRequest } from "./routes.js";
import type {
  BedrockCredentials,
  Fault,
  MockProvider,
  MockProviderOptions,
  RecordedRequest,
  ScenarioBehaviour,
} from "./types.js";

const DEFAULT_MODELS = ["mock-model", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small"];
const SCENARIO_PREFIX = "/scenario/";

/** Settings the route handlers read. */
export interface ProviderSettings extends ExchangeSettings {
  models: readonly string[];
  bedrockCredentials: BedrockCredentials[];
}

interface Waiter {
  count: number;
  resolve: (requests: RecordedRequest[]) => void;
}

/** Internal record: the public fields plus the resolver of `clientClosed`. */
interface MutableRecord extends RecordedRequest {
  resolveClientClosed?: (closed: boolean) => void;
}

/** Starts the mock provider; resolves once it listens. */
export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const host = options.host ?? "127.0.0.1";
  const settings: ProviderSettings = {
    words: options.words ?? 12,
    chunkDelayMs: options.chunkDelayMs ?? 0,
    models: options.models ?? DEFAULT_MODELS,
    bedrockCredentials: [
      options.bedrockCredentials ?? { accessKeyId: "AKIDMOCKTEST", secretAccessKey: "mock-secret" },
    ].flat(),
  };
  const recordRequests = options.recordRequests !== false;
  const requests: RecordedRequest[] = [];
  const scenarios = new Map<string, ScenarioBehaviour>();
  let waiters: Waiter[] = [];
  let closing = false;

  const server = createServer({ keepAlive: true, noDelay: true }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A handler bug must not take the mock down; answer 500 when still possible.
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(
          JSON.stringify({
            error: { message: `Mock internal error: ${String(error)}`, type: "server_error" },
          }),
        );
      } else {
        response.destroy();
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 31_000;
  server.requestTimeout = 0;

  function notifyWaiters(): void {
    if (waiters.length === 0) return;
    const remaining: Waiter[] = [];
    for (const waiter of waiters) {
      if (requests.length >= waiter.count) waiter.resolve(requests.slice(0, waiter.count));
      else remaining.push(waiter);
    }
    waiters = remaining;
  }

  function scenarioFault(id: string, record: RecordedRequest): Fault | undefined {
    const behaviour = scenarios.get(id);
    if (behaviour === undefined) return undefined;
    if (typeof behaviour === "function") return behaviour(record);
    if (Array.isArray(behaviour)) return behaviour.shift();
    return behaviour;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const rawUrl = request.url ?? "/";
    const queryStart = rawUrl.indexOf("?");
    let path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const query: Record<string, string> = {};
    if (queryStart !== -1) {
      for (const [key, value] of new URLSearchParams(rawUrl.slice(queryStart + 1))) query[key] = value;
    }
    let scenario: string | undefined;
    if (path.startsWith(SCENARIO_PREFIX)) {
      const end = path.indexOf("/", SCENARIO_PREFIX.length);
      scenario = decodeURIComponent(path.slice(SCENARIO_PREFIX.length, end === -1 ? undefined : end));
      path = end === -1 ? "/" : path.slice(end);
    }

    const rawBody = await readBody(request);
    let body: unknown;
    if (rawBody.length > 0) {
      const text = rawBody.toString("utf8");
      const first = text.charCodeAt(0);
      if (first === 123 /* { */ || first === 91 /* [ */) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      } else {
        body = text;
      }
    }

    let resolveClientClosed: ((closed: boolean) => void) | undefined;
    const record: MutableRecord = {
      method: request.method ?? "GET",
      path,
      query,
      headers: request.headers,
      body,
      receivedAt: Date.now(),
      clientClosed: new Promise<boolean>((resolve) => {
        resolveClientClosed = resolve;
      }),
      completed: false,
    };
    if (scenario !== undefined) record.scenario = scenario;
    if (recordRequests) requests.push(record);

    // Choose the fault: x-mock-fault header, then the body's mock_fault, then the scenario.
    let fault: Fault | undefined;
    let faultError: string | undefined;
    const faultHeader = request.headers["x-mock-fault"];
    if (typeof faultHeader === "string" && faultHeader.length > 0) {
      try {
        fault = JSON.parse(faultHeader) as Fault;
      } catch {
        faultError = "Mock: the x-mock-fault header is not valid JSON";
      }
    } else if (body !== null && typeof body === "object" && !Array.isArray(body)) {
      const bodyFault = (body as Record<string, unknown>).mock_fault;
      if (bodyFault !== null && typeof bodyFault === "object") fault = bodyFault as Fault;
    }
    if (fault === undefined && faultError === undefined && scenario !== undefined) {
      fault = scenarioFault(scenario, record);
    }
    if (fault !== undefined) record.fault = fault;

    const exchange = new Exchange(request, response, record, body, rawBody, fault, settings);
    exchange.rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    response.once("finish", () => {
      record.completed = true;
    });
    response.once("close", () => {
      exchange.onClose();
      resolveClientClosed?.(!response.writableFinished && !exchange.cutByServer && !closing);
    });
    notifyWaiters();

    const route = routeRequest(record.method, path, settings);
    const writeError = route?.writeError ?? errorWriterFor(path);
    if (faultError !== undefined) {
      writeError(exchange, 400, faultError);
      return;
    }
    if (route === undefined) {
      if (!(await exchange.prelude(false, writeError))) return;
      writeError(exchange, 404, `Mock: no route for ${record.method} ${path}`);
      return;
    }
    await route.handle(exchange);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    requests,
    scenario(id, behaviour) {
      scenarios.set(id, Array.isArray(behaviour) ? behaviour.slice() : behaviour);
    },
    scenarioUrl(id) {
      return `${url}${SCENARIO_PREFIX}${encodeURIComponent(id)}`;
    },
    waitForRequests(count, timeoutMs = 5000) {
      if (requests.length >= count) return Promise.resolve(requests.slice(0, count));
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          count,
          resolve: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((candidate) => candidate !== waiter);
          reject(
            new Error(
              `Mock provider: waited ${timeoutMs} ms for ${count} requests, received ${requests.length}`,
            ),
          );
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    clear() {
      requests.length = 0;
      scenarios.clear();
    },
    close() {
      closing = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  const method = request.method;
  if ((method === "GET" || method === "HEAD") && request.headers["content-length"] === undefined) {
    // Nothing to read; drain so keep-alive works.
    request.resume();
    return Promise.resolve(Buffer.alloc(0));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    request.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
    request.once("error", reject);
  });
}
