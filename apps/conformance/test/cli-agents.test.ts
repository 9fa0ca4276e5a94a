/**
 * The real Claude Code and Codex CLIs, end to end, against the gateway on 127.0.0.1 (port 0) with
 * the built-in mock provider (no keys, no upstream network):
 *  - `claude -p` (ANTHROPIC_BASE_URL = the gateway) → HEAD /, then POST /v1/messages?beta=true with
 *    its anthropic-beta list, a mid-conversation system message, adaptive thinking and effort,
 *    translated for the mock; the CLI must print the mock's answer and exit 0.
 *  - `codex exec` (a custom model provider with wire_api = "responses" pointed at the gateway) →
 *    POST /v1/responses streamed, translated for the mock; the CLI must print the answer and exit 0.
 * The CLIs are installed from npm by this file's set-up into a temporary folder (kept between runs);
 * when they cannot be installed the set-up fails with the npm output, it does not skip.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallEvent } from "@llmux/callbacks";
import { createGateway, createHandler, type Gateway } from "@llmux/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CLAUDE_CODE = "@anthropic-ai/claude-code@^2.1.0";
const CODEX = "@openai/codex@>=0.171.0 <1";
const KEY = "sk-cli-e2e-master-0123456789";
const ANSWER = "The gateway answered this agent.";
const root = join(tmpdir(), "llmux-cli-agents");
const bin = (name: string) => join(root, "node_modules", ".bin", name);

let gateway: Gateway;
let server: Server;
let baseUrl: string;
const events: CallEvent[] = [];
const requests: Array<{ method: string; url: string }> = [];

function run(file: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs = 150_000) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      file,
      args,
      { env: { PATH: process.env.PATH ?? "", ...env }, cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number | undefined) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    ).stdin?.end();
  });
}

beforeAll(async () => {
  mkdirSync(root, { recursive: true });
  if (!existsSync(bin("claude")) || !existsSync(bin("codex"))) {
    if (!existsSync(join(root, "package.json")))
      writeFileSync(join(root, "package.json"), '{"private":true}');
    const installed = await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--no-save", CLAUDE_CODE, CODEX],
      {
        HOME: process.env.HOME ?? root,
        npm_config_cache: process.env.npm_config_cache ?? join(root, ".npm"),
      },
      root,
      540_000,
    );
    if (installed.code !== 0 || !existsSync(bin("claude")) || !existsSync(bin("codex"))) {
      throw new Error(
        `Could not install ${CLAUDE_CODE} and ${CODEX} from npm into ${root} (exit ${installed.code}); this test needs the real CLIs.\n${installed.stdout}\n${installed.stderr}`,
      );
    }
  }
  gateway = createGateway({
    config: {
      model_list: [
        { model_name: "claude-sonnet-4-5", litellm_params: { model: "mock/claude", mock_response: ANSWER } },
        {
          model_name: "claude-haiku-4-5",
          litellm_params: { model: "mock/claude-haiku", mock_response: ANSWER },
        },
        { model_name: "gpt-5.1-codex", litellm_params: { model: "mock/codex", mock_response: ANSWER } },
      ],
      general_settings: { master_key: KEY },
    },
    sinks: [
      {
        name: "e2e",
        onSuccess: (event) => void events.push(event),
        onFailure: (event) => void events.push(event),
      },
    ],
    quietOpenWarning: true,
  });
  const handler = createHandler(gateway);
  server = createServer((request, response) => {
    requests.push({ method: request.method ?? "", url: request.url ?? "" });
    handler(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await gateway?.shutdown();
});

describe("Claude Code (claude -p) through /v1/messages", () => {
  it("answers a headless prompt with the gateway's reply", async () => {
    const home = join(root, "claude-home");
    mkdirSync(home, { recursive: true });
    const result = await run(
      bin("claude"),
      ["-p", "Reply with one short sentence.", "--output-format", "json", "--model", "claude-sonnet-4-5"],
      {
        HOME: home,
        ANTHROPIC_BASE_URL: baseUrl,
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_SMALL_FAST_MODEL: "claude-haiku-4-5",
        DISABLE_TELEMETRY: "1",
        DISABLE_AUTOUPDATER: "1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      },
      home,
    );
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const output = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
      result: string;
      is_error: boolean;
    };
    expect(output.is_error).toBe(false);
    expect(output.result).toContain(ANSWER);
    expect(requests.some((request) => request.url.startsWith("/v1/messages"))).toBe(true);
    await gateway.flush();
    const call = events.find((event) => event.callType === "messages" && event.status === "success");
    expect(call?.modelGroup).toBe("claude-sonnet-4-5");
  });
});

describe("Codex (codex exec) through /v1/responses", () => {
  it("answers a headless prompt with the gateway's reply", async () => {
    const home = join(root, "codex-home");
    const work = join(root, "codex-work");
    mkdirSync(home, { recursive: true });
    mkdirSync(work, { recursive: true });
    writeFileSync(
      join(home, "config.toml"),
      [
        'model = "gpt-5.1-codex"',
        'model_provider = "llmux"',
        "",
        "[model_providers.llmux]",
        'name = "llmux"',
        `base_url = "${baseUrl}/v1"`,
        'env_key = "LLMUX_KEY"',
        'wire_api = "responses"',
        "",
      ].join("\n"),
    );
    const result = await run(
      bin("codex"),
      ["exec", "--skip-git-repo-check", "Reply with one short sentence."],
      { HOME: home, CODEX_HOME: home, LLMUX_KEY: KEY },
      work,
    );
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain(ANSWER);
    await gateway.flush();
    const call = events.find((event) => event.callType === "responses" && event.status === "success");
    expect(call?.modelGroup).toBe("gpt-5.1-codex");
    expect(call?.stream).toBe(true);
  });
});
