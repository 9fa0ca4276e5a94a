/**
 * The reference app as users start it (`node dist/main.js`, built by `npm test`/`npm start`):
 * SIGTERM during an in-flight call → the call completes, the jsonl sink is flushed, exit code 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

const main = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js");
let mock: MockProvider;
let child: ChildProcess | undefined;

beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await mock?.close();
});

it("SIGTERM: stops accepting, finishes the in-flight call, flushes sinks, exits 0", async () => {
  expect(existsSync(main), `${main} is missing: run \`npm run build\` (npm test builds first)`).toBe(true);
  const directory = mkdtempSync(join(tmpdir(), "llmux-shutdown-"));
  const config = join(directory, "config.yaml");
  const jsonl = join(directory, "calls.jsonl");
  writeFileSync(
    config,
    [
      "model_list:",
      "  - model_name: slow",
      "    litellm_params:",
      "      model: openai/gpt-4o",
      `      api_base: ${mock.scenarioUrl("slow")}/v1`,
      "      api_key: sk-test",
      "litellm_settings:",
      "  callbacks: [jsonl]",
      "general_settings:",
      `  jsonl_path: ${jsonl}`,
    ].join("\n"),
  );
  mock.scenario("slow", { latencyMs: 800 });
  child = spawn(process.execPath, [main], {
    env: { ...process.env, LLMUX_CONFIG: config, PORT: "0", HOST: "127.0.0.1", LLMUX_LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start: ${output}`)), 10_000);
    child!.stdout!.on("data", () => {
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  const inFlight = fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "slow", messages: [{ role: "user", content: "take your time" }] }),
  });
  await mock.waitForRequests(1);
  const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const response = await inFlight;
  expect(response.status).toBe(200);
  expect(((await response.json()) as { choices: unknown[] }).choices).toHaveLength(1);
  expect(await exited).toBe(0);
  expect(output).toContain("SIGTERM: stopping");
  const lines = readFileSync(jsonl, "utf8").trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!).status).toBe("success");
});
