/**
 * The reference app as users start it (`node dist/main.js`, built by `npm test`/`npm start`), stopped
 * with SIGTERM:
 * - an in-flight call completes, a new connection is refused, an idle keep-alive socket does not hold
 *   the exit, the jsonl sink is flushed, exit code 0;
 * - with an OTLP endpoint that accepts and never answers: the flush stops at its deadline (below the
 *   force timer), the dropped spans are logged with the reason, exit code 0;
 * - a second SIGTERM while stopping forces the exit;
 * - a stream longer than the grace period ends with an in-band error event, not a cut connection.
 * Bounds are structural: the app logs whether it stopped before its force timer fired.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer, get, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";

const main = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js");
let mock: MockProvider;
const children: ChildProcess[] = [];

beforeAll(async () => {
  mock = await startMockProvider();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  mock.clear();
});
afterAll(async () => {
  await mock?.close();
});

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves when the output contains `text`. */
  waitFor(text: string): Promise<void>;
}

function writeConfig(extra: string[] = []): string {
  const directory = mkdtempSync(join(tmpdir(), "llmux-shutdown-"));
  const config = join(directory, "config.yaml");
  writeFileSync(
    config,
    [
      "model_list:",
      "  - model_name: slow",
      "    litellm_params:",
      "      model: openai/gpt-4o",
      `      api_base: ${mock.scenarioUrl("slow")}/v1`,
      "      api_key: sk-test",
      ...extra,
    ].join("\n"),
  );
  return config;
}

async function startApp(config: string, env: Record<string, string> = {}): Promise<Started> {
  expect(existsSync(main), `${main} is missing: run \`npm run build\` (npm test builds first)`).toBe(true);
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      LLMUX_CONFIG: config,
      PORT: "0",
      HOST: "127.0.0.1",
      LLMUX_LOG_LEVEL: "error",
      OTEL_EXPORTER_OTLP_ENDPOINT: "",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
      LANGFUSE_PUBLIC_KEY: "",
      LANGFUSE_SECRET_KEY: "",
      MLFLOW_TRACKING_URI: "",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (output.includes(text)) {
          listeners.delete(check);
          resolve();
        }
      };
      listeners.add(check);
      check();
      void exited.then(() => {
        if (!output.includes(text))
          reject(new Error(`the app exited without printing "${text}":\n${output}`));
      });
    });
  await waitFor("listening on ");
  const url = /listening on (http:\/\/[^\s]+)/.exec(output)![1]!;
  return { child, url, output: () => output, exited, waitFor };
}

function chat(url: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "take your time" }], ...body }),
  });
}

/** An OTLP endpoint that accepts every request and never answers (a collector that hangs). */
async function startHangingCollector(): Promise<{ url: string; requests: () => number; close(): void }> {
  let requests = 0;
  const held: ServerResponse[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    requests++;
    request.resume();
    held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

it("SIGTERM: the in-flight call completes, new connections are refused, an idle keep-alive socket does not hold the exit, sinks are flushed, exit 0", async () => {
  const directory = mkdtempSync(join(tmpdir(), "llmux-shutdown-jsonl-"));
  const jsonl = join(directory, "calls.jsonl");
  const config = writeConfig([
    "litellm_settings:",
    "  callbacks: [jsonl]",
    "general_settings:",
    `  jsonl_path: ${jsonl}`,
  ]);
  mock.scenario("slow", { latencyMs: 800 });
  const app = await startApp(config);

  // A client that keeps its connection: after this request the socket is idle, not closed.
  const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  const order: string[] = [];
  let idleSocketClosed!: Promise<void>;
  await new Promise<void>((resolve, reject) => {
    const request = get(`${app.url}/health/liveliness`, { agent }, (response) => {
      response.resume();
      response.on("end", () => resolve());
    });
    request.on("socket", (socket) => {
      idleSocketClosed = new Promise((closed) =>
        socket.once("close", () => {
          order.push("idle keep-alive socket closed by the server");
          closed();
        }),
      );
    });
    request.on("error", reject);
  });

  const inFlight = chat(app.url, { model: "slow" }).then((response) => {
    order.push("in-flight response");
    return response;
  });
  await mock.waitForRequests(1);
  app.child.kill("SIGTERM");
  await app.waitFor("SIGTERM: stopping");

  // After SIGTERM the listener is closed: a new connection is refused.
  const late = await fetch(`${app.url}/health/liveliness`, {
    headers: { connection: "close" },
  }).catch((error: Error & { cause?: { code?: string } }) => error);
  expect(late).toBeInstanceOf(Error);
  expect((late as Error & { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");

  const response = await inFlight;
  expect(response.status).toBe(200);
  expect(((await response.json()) as { choices: unknown[] }).choices).toHaveLength(1);
  await idleSocketClosed;
  // the idle socket was closed at once, not when the in-flight call ended or a keep-alive timeout ran out
  expect(order).toEqual(["idle keep-alive socket closed by the server", "in-flight response"]);
  expect(await app.exited).toBe(0);
  expect(app.output()).toMatch(/SIGTERM: stopped in \d+ ms, before the force timer: exit 0/);
  expect(app.output()).not.toContain("forcing exit");
  agent.destroy();
  const lines = readFileSync(jsonl, "utf8").trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!).status).toBe("success");
}, 30_000);

it("SIGTERM with an OTLP collector that never answers: the flush stops at its deadline, the dropped spans are logged with the reason, exit 0", async () => {
  const collector = await startHangingCollector();
  try {
    const app = await startApp(writeConfig(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      LLMUX_SHUTDOWN_TIMEOUT_MS: "7500",
    });
    mock.scenario("slow", { latencyMs: 0 });
    const response = await chat(app.url, { model: "slow" });
    expect(response.status).toBe(200);
    app.child.kill("SIGTERM");
    const code = await app.exited;
    const output = app.output();
    // the exporter did try: the collector received the export and never answered it
    expect(collector.requests()).toBeGreaterThan(0);
    expect(output).toMatch(
      /telemetry exporter "otlp": \d+ spans dropped at shutdown: the exporter did not finish before the shutdown deadline/,
    );
    // structural bound: the stop finished (and said so) before the force timer fired
    expect(output).toMatch(/SIGTERM: stopped in \d+ ms, before the force timer: exit 0/);
    expect(output).not.toContain("forcing exit");
    expect(output.indexOf("dropped at shutdown")).toBeLessThan(output.indexOf("SIGTERM: stopped in"));
    expect(code).toBe(0);
  } finally {
    collector.close();
  }
}, 30_000);

it("a second SIGTERM while stopping forces the exit", async () => {
  const collector = await startHangingCollector();
  try {
    // a force timer far away: only the second signal can end the stop early
    const app = await startApp(writeConfig(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      LLMUX_SHUTDOWN_TIMEOUT_MS: "120000",
    });
    mock.scenario("slow", { latencyMs: 0 });
    expect((await chat(app.url, { model: "slow" })).status).toBe(200);
    app.child.kill("SIGTERM");
    await app.waitFor("SIGTERM: stopping");
    // the flush is waiting on the collector that never answers
    while (collector.requests() === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    app.child.kill("SIGTERM");
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain("SIGTERM again while stopping: forcing exit 1");
    expect(app.output()).not.toContain("SIGTERM: stopped in");
  } finally {
    collector.close();
  }
}, 30_000);

it("a stream longer than the grace period ends with an in-band error event, not a cut; exit 0", async () => {
  // 40 chunks, 250 ms apart: about 10 s of stream against a 1 s grace period
  mock.scenario("slow", {
    content: Array.from({ length: 40 }, (_, index) => `word${index}`).join(" "),
    chunkDelayMs: 250,
  });
  const app = await startApp(writeConfig(), {
    LLMUX_SHUTDOWN_TIMEOUT_MS: "8000",
    LLMUX_SHUTDOWN_GRACE_MS: "1000",
  });
  const response = await chat(app.url, { model: "slow", stream: true });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value); // the stream has started
  app.child.kill("SIGTERM");
  // read to the end: a cut connection would reject here ("terminated")
  for (let part = await reader.read(); !part.done; part = await reader.read())
    text += decoder.decode(part.value, { stream: true });
  const events = text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice("data: ".length));
  const last = events.at(-1)!;
  expect(last).not.toBe("[DONE]");
  const error = (JSON.parse(last) as { error: { code: string; message: string } }).error;
  expect(error.code).toBe("gateway_shutting_down");
  expect(error.message).toContain("1000 ms grace period");
  // some content came before the error, not all of it
  expect(events.length).toBeGreaterThan(2);
  expect(text).not.toContain("word39");
  expect(await app.exited).toBe(0);
  expect(app.output()).toMatch(/SIGTERM: stopped in \d+ ms, before the force timer: exit 0/);
}, 30_000);
