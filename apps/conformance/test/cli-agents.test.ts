/**
 * The real Claude Code and Codex CLIs, end to end, against the gateway on 127.0.0.1 with the built-in
 * mock provider (no keys, no upstream network):
 *  - `claude -p` (ANTHROPIC_BASE_URL = the gateway) → HEAD /, then POST /v1/messages?beta=true with
 *    its anthropic-beta list, a mid-conversation system message, adaptive thinking and effort,
 *    translated for the mock; the CLI must print the mock's answer and exit 0.
 *  - `codex exec` (a custom model provider with wire_api = "responses" pointed at the gateway) →
 *    POST /v1/responses streamed, translated for the mock; the CLI must print the answer and exit 0.
 *
 * Isolation: each CLI runs with the gateway inside a loopback-only network namespace (`unshare -n` as
 * root, `unshare -rn` otherwise; lo brought up with `ip`), so neither can reach anything but the
 * gateway. The gateway then runs in a child process (`cli-runner.cjs`, written by this file, loading
 * the built `@llmux/core` dist) that starts it, runs the CLI and reports the exit code, output, call
 * events and request lines as JSON. When namespaces are unavailable the test prints why and runs the
 * same child process without one.
 *
 * Heavy (npm installs of both CLIs, kept in a temporary folder between runs): LLMUX_CI_HEAVY=0 skips
 * it with the reason printed (.ci/run's second Node pass). When the CLIs cannot be installed the set-up
 * fails with the npm output; it does not skip.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallEvent } from "@llmux/callbacks";
import { beforeAll, describe, expect, it } from "vitest";

const CLAUDE_CODE = "@anthropic-ai/claude-code@^2.1.0";
const CODEX = "@openai/codex@>=0.171.0 <1";
const KEY = "sk-cli-e2e-master-0123456789";
const ANSWER = "The gateway answered this agent.";
const root = join(tmpdir(), "llmux-cli-agents");
const bin = (name: string) => join(root, "node_modules", ".bin", name);

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the runner reports: the CLI's outcome, the gateway's call events and the request lines it saw. */
interface RunnerReport extends RunResult {
  events: Array<Pick<CallEvent, "callType" | "status" | "modelGroup" | "stream">>;
  requests: Array<{ method: string; url: string }>;
}

const heavy = process.env.LLMUX_CI_HEAVY !== "0";
if (!heavy)
  process.stdout.write(
    "[cli-agents.test] skipped: LLMUX_CI_HEAVY=0 (the real Claude Code and Codex CLIs are installed and run on the other CI pass)\n",
  );
const describeHeavy = heavy ? describe : describe.skip;

/** How the CLIs are isolated: a command prefix that enters a loopback-only network namespace, or none. */
let isolation: { prefix: string[]; reason: string } = { prefix: [], reason: "not probed" };

const MODEL_LIST = [
  { model_name: "claude-sonnet-4-5", litellm_params: { model: "mock/claude", mock_response: ANSWER } },
  { model_name: "claude-haiku-4-5", litellm_params: { model: "mock/claude-haiku", mock_response: ANSWER } },
  { model_name: "gpt-5.1-codex", litellm_params: { model: "mock/codex", mock_response: ANSWER } },
];

/**
 * The child process: starts the gateway on 127.0.0.1 (port from the spec; 0 = any), writes the files
 * of the spec with __BASE_URL__ replaced, runs the CLI with __BASE_URL__ replaced in its environment,
 * and prints one JSON line: the CLI's exit code and output, the call events, the request lines.
 */
const RUNNER = `"use strict";
const { execFile } = require("node:child_process");
const { writeFileSync } = require("node:fs");
const { createServer } = require("node:http");
const spec = JSON.parse(require("node:fs").readFileSync(process.argv[2], "utf8"));
const { createGateway, createHandler } = require(spec.core);
const events = [];
const requests = [];
const gateway = createGateway({
  config: spec.config,
  sinks: [{ name: "runner", onSuccess: (e) => void events.push(e), onFailure: (e) => void events.push(e) }],
  quietOpenWarning: true,
});
const handler = createHandler(gateway);
const server = createServer((request, response) => {
  requests.push({ method: request.method || "", url: request.url || "" });
  handler(request, response).then((handled) => {
    if (!handled) { response.writeHead(404); response.end(); }
  });
});
server.listen(spec.port, "127.0.0.1", () => {
  const base = "http://127.0.0.1:" + server.address().port;
  const fill = (text) => text.split("__BASE_URL__").join(base);
  for (const file of spec.files) writeFileSync(file.path, fill(file.text));
  const env = {};
  for (const [name, value] of Object.entries(spec.env)) env[name] = fill(value);
  const child = execFile(spec.file, spec.args.map(fill), { env, cwd: spec.cwd, timeout: spec.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
    async (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      await gateway.flush();
      const slim = events.map((e) => ({ callType: e.callType, status: e.status, modelGroup: e.modelGroup, stream: e.stream }));
      process.stdout.write("\\n@@report " + JSON.stringify({ code, stdout, stderr, events: slim, requests }) + "\\n");
      server.closeAllConnections();
      server.close();
      await gateway.shutdown();
      process.exit(0);
    });
  child.stdin && child.stdin.end();
});
`;

function run(file: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs = 150_000) {
  return new Promise<RunResult>((resolve) => {
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

/** Whether a loopback-only network namespace works here, and how to enter it. */
function probeNamespace(): { prefix: string[]; reason: string } {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const attempts = root
    ? [
        ["unshare", "-n"],
        ["unshare", "-rn"],
      ]
    : [["unshare", "-rn"]];
  const failures: string[] = [];
  for (const attempt of attempts) {
    try {
      // lo must come up; an outside address must be unreachable.
      const output = execFileSync(
        attempt[0]!,
        [...attempt.slice(1), "sh", "-c", "ip link set lo up && ip -o link show | grep -vc ' lo:' || true"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 },
      );
      if (output.trim() === "0")
        return {
          prefix: [...attempt, "sh", "-c", 'ip link set lo up && exec "$0" "$@"'],
          reason: attempt.join(" "),
        };
      failures.push(`${attempt.join(" ")}: interfaces other than lo are visible`);
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim();
      failures.push(`${attempt.join(" ")}: ${stderr.split("\n")[0]}`);
    }
  }
  return { prefix: [], reason: failures.join("; ") };
}

/** Runs the gateway and one CLI in the runner, inside the namespace when there is one. */
async function runAgent(cli: {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  files?: Array<{ path: string; text: string }>;
}): Promise<RunnerReport> {
  const specPath = join(root, `spec-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  const spec = {
    core: createRequire(import.meta.url).resolve("@llmux/core"),
    config: { model_list: MODEL_LIST, general_settings: { master_key: KEY } },
    // a fresh namespace has every port free: a fixed one keeps the CLI's config simple; outside, any port
    port: isolation.prefix.length > 0 ? 4000 : 0,
    file: cli.file,
    args: cli.args,
    env: { PATH: process.env.PATH ?? "", ...cli.env },
    cwd: cli.cwd,
    files: cli.files ?? [],
    timeoutMs: 150_000,
  };
  writeFileSync(specPath, JSON.stringify(spec));
  const command = [...isolation.prefix, process.execPath, join(root, "cli-runner.cjs"), specPath];
  const result = await run(command[0]!, command.slice(1), { HOME: cli.env.HOME ?? root }, cli.cwd, 200_000);
  const line = result.stdout.split("\n").find((candidate) => candidate.startsWith("@@report "));
  if (!line)
    throw new Error(`the runner reported nothing (exit ${result.code})\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(line.slice("@@report ".length)) as RunnerReport;
}

beforeAll(async () => {
  if (!heavy) return;
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
  const core = createRequire(import.meta.url).resolve("@llmux/core");
  if (!existsSync(core))
    throw new Error(
      `${core} is missing: build the packages first (npm run build); the runner loads the dist`,
    );
  writeFileSync(join(root, "cli-runner.cjs"), RUNNER);
  isolation = probeNamespace();
  process.stdout.write(
    isolation.prefix.length > 0
      ? `[cli-agents.test] the CLIs and the gateway run in a loopback-only network namespace (${isolation.reason})\n`
      : `[cli-agents.test] network namespaces are unavailable here (${isolation.reason}): the CLIs run without one, on the host's network, against the gateway on 127.0.0.1\n`,
  );
}, 600_000);

describeHeavy("Claude Code (claude -p) through /v1/messages", () => {
  it("answers a headless prompt with the gateway's reply", async () => {
    const home = join(root, "claude-home");
    mkdirSync(home, { recursive: true });
    const report = await runAgent({
      file: bin("claude"),
      args: [
        "-p",
        "Reply with one short sentence.",
        "--output-format",
        "json",
        "--model",
        "claude-sonnet-4-5",
      ],
      env: {
        HOME: home,
        ANTHROPIC_BASE_URL: "__BASE_URL__",
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_SMALL_FAST_MODEL: "claude-haiku-4-5",
        DISABLE_TELEMETRY: "1",
        DISABLE_AUTOUPDATER: "1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      },
      cwd: home,
    });
    expect(report.code, `${report.stdout}\n${report.stderr}`).toBe(0);
    const output = JSON.parse(report.stdout.trim().split("\n").at(-1)!) as {
      result: string;
      is_error: boolean;
    };
    expect(output.is_error).toBe(false);
    expect(output.result).toContain(ANSWER);
    expect(report.requests.some((request) => request.url.startsWith("/v1/messages"))).toBe(true);
    const call = report.events.find((event) => event.callType === "messages" && event.status === "success");
    expect(call?.modelGroup).toBe("claude-sonnet-4-5");
  });
});

describeHeavy("Codex (codex exec) through /v1/responses", () => {
  it("answers a headless prompt with the gateway's reply", async () => {
    const home = join(root, "codex-home");
    const work = join(root, "codex-work");
    mkdirSync(home, { recursive: true });
    mkdirSync(work, { recursive: true });
    const report = await runAgent({
      file: bin("codex"),
      args: ["exec", "--skip-git-repo-check", "Reply with one short sentence."],
      env: { HOME: home, CODEX_HOME: home, LLMUX_KEY: KEY },
      cwd: work,
      files: [
        {
          path: join(home, "config.toml"),
          text: [
            'model = "gpt-5.1-codex"',
            'model_provider = "llmux"',
            "",
            "[model_providers.llmux]",
            'name = "llmux"',
            'base_url = "__BASE_URL__/v1"',
            'env_key = "LLMUX_KEY"',
            'wire_api = "responses"',
            "",
          ].join("\n"),
        },
      ],
    });
    expect(report.code, `${report.stdout}\n${report.stderr}`).toBe(0);
    expect(report.stdout).toContain(ANSWER);
    const call = report.events.find((event) => event.callType === "responses" && event.status === "success");
    expect(call?.modelGroup).toBe("gpt-5.1-codex");
    expect(call?.stream).toBe(true);
  });
});
