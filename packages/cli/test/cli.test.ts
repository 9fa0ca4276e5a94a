/**
 * The built `llmux` command run as a child process, against the mock provider (@llmux/testing) on
 * 127.0.0.1: version/help, `serve` (start-up summary, the reference app's routes on node:http, auth,
 * streaming, /metrics, graceful stop), `--num_workers`, and `check`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, packageRoot } from "./build-once";
import { runCli, runToExit } from "./run-cli";

const MASTER_KEY = "sk-cli-master";
let mock: MockProvider;
let directory: string;
let configPath: string;

beforeAll(async () => {
  ensureBuilt();
  mock = await startMockProvider();
  directory = mkdtempSync(join(tmpdir(), "llmux-cli-"));
  configPath = join(directory, "litellm_config.yaml");
  writeFileSync(
    configPath,
    `model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: ${mock.url}/v1
      api_key: os.environ/UPSTREAM_KEY
  - model_name: backup
    litellm_params:
      model: mock/backup
router_settings:
  fallbacks: [{ gpt-4o: [backup] }]
litellm_settings:
  callbacks: [prometheus]
general_settings:
  master_key: ${MASTER_KEY}
`,
  );
}, 600_000);

afterAll(async () => {
  await mock?.close();
});

describe("llmux --version / --help", () => {
  it("prints the package version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8"));
    const result = await runToExit(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it("prints the usage with LiteLLM's flag names", async () => {
    const result = await runToExit(["--help"]);
    expect(result.code).toBe(0);
    for (const flag of [
      "--config",
      "--port",
      "--host",
      "--num_workers",
      "--detailed_debug",
      "check",
      "--strict",
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });

  it("refuses an unknown flag with a readable error and exit code 2", async () => {
    const result = await runToExit(["--config", configPath, "--prot", "4000"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--prot");
    expect(result.stderr).toContain("Usage:");
  });

  it("names a missing config file and exits 1", async () => {
    const result = await runToExit(["--config", join(directory, "nope.yaml"), "--port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot read config file");
  });
});

describe("llmux --config FILE (serve)", () => {
  it("prints what it loaded, serves the gateway routes on node:http and stops on SIGTERM", async () => {
    const cli = runCli(["--config", configPath, "--port", "0", "--host", "127.0.0.1"], {
      UPSTREAM_KEY: "sk-upstream",
    });
    try {
      const url = await cli.url;
      const out = cli.stdout();
      expect(out).toContain("model groups (2):");
      expect(out).toContain("gpt-4o: 1 deployment (openai/gpt-4o); fallbacks: backup");
      expect(out).toContain("backup: 1 deployment (mock/backup)");
      expect(out).toContain("callbacks: prometheus");
      expect(out).toMatch(/store: no key store/);
      expect(out).toContain("auth: master key");
      expect(out).not.toContain(MASTER_KEY);

      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
      // Sent: a chat completion through /v1; came back: the mock's answer via the openai deployment.
      const completion = await client.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "hello from the cli test" }],
      });
      expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
      expect(mock.requests.at(-1)?.headers.authorization).toBe("Bearer sk-upstream");

      // Streamed.
      const stream = await client.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "stream please" }],
        stream: true,
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      expect(text.length).toBeGreaterThan(0);

      // LiteLLM also serves the routes without /v1.
      const bare = await fetch(`${url}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "backup", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(bare.status).toBe(200);

      const models = (await (
        await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })
      ).json()) as { data: Array<{ id: string }> };
      expect(models.data.map((model) => model.id).sort()).toEqual(["backup", "gpt-4o"]);

      const unauthorized = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(unauthorized.status).toBe(401);

      expect((await fetch(`${url}/health/liveliness`)).status).toBe(200);
      const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("llmux_");

      const missing = await fetch(`${url}/no/such/route`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
    } finally {
      const code = await cli.stop();
      expect(code).toBe(0);
    }
    expect(cli.stdout()).toContain("SIGTERM: stopping");
  });

  it("--detailed_debug turns on debug logging", async () => {
    const cli = runCli(["--config", configPath, "--port", "0", "--detailed_debug"], {
      UPSTREAM_KEY: "sk-upstream",
    });
    try {
      await cli.url;
      expect(cli.stderr()).toContain("[llmux] debug:");
    } finally {
      await cli.stop();
    }
  });

  it("--num_workers 2 runs two processes sharing one port", async () => {
    const cli = runCli(["--config", configPath, "--port", "0", "--num_workers", "2"], {
      UPSTREAM_KEY: "sk-upstream",
    });
    try {
      const url = await cli.url;
      expect(cli.stdout()).toContain("with 2 workers");
      const pids = [...cli.stdout().matchAll(/llmux worker (\d+) listening/g)].map((match) => match[1]);
      expect(new Set(pids).size).toBe(2);
      expect(pids).not.toContain(String(cli.child.pid));
      // The summary is printed once, by the primary.
      expect(cli.stdout().split("model groups (2):").length).toBe(2);
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
      for (let index = 0; index < 4; index++) {
        const completion = await client.chat.completions.create({
          model: "backup",
          messages: [{ role: "user", content: `call ${index}` }],
        });
        expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
      }
    } finally {
      expect(await cli.stop()).toBe(0);
    }
  });
});

describe("llmux check", () => {
  it("reports errors and warnings with did-you-mean, exits 1 on errors", async () => {
    const path = join(directory, "broken.yaml");
    writeFileSync(
      path,
      `model_list:
  - model_name: claude
    litellm_params:
      model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0
      aws_region_nam: us-west-2
router_settings:
  num_retires: 2
litellm_settings:
  callbacks: [langfuse, prometheus, mlfow]
general_settings:
  master_key: os.environ/LLMUX_TEST_UNSET_MASTER_KEY
`,
    );
    const result = await runToExit(["check", "--config", path], {
      LANGFUSE_PUBLIC_KEY: "",
      LANGFUSE_SECRET_KEY: "",
      LLMUX_TEST_UNSET_MASTER_KEY: "",
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "error: general_settings.master_key: environment variable LLMUX_TEST_UNSET_MASTER_KEY is not set",
    );
    expect(result.stdout).toContain(
      "error: callback 'langfuse' needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY",
    );
    expect(result.stdout).toMatch(/warning: .*aws_region_nam.*did you mean 'aws_region_name'/);
    expect(result.stdout).toMatch(/warning: .*num_retires.*did you mean 'num_retries'/);
    expect(result.stdout).toContain(
      "callback 'mlfow' is not supported by llmux and is ignored (did you mean 'mlflow'?)",
    );
  });

  it("passes a clean config, and --strict turns warnings into a failure", async () => {
    const ok = await runToExit(["check", "--config", configPath], { UPSTREAM_KEY: "sk-upstream" });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("0 errors, 0 warnings, 2 deployments in 2 model groups - ok");

    const path = join(directory, "warning.yaml");
    writeFileSync(
      path,
      "model_list:\n  - model_name: m\n    litellm_params:\n      model: mock/m\n      api_bsae: http://127.0.0.1:1\n",
    );
    const lenient = await runToExit(["check", "--config", path]);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toContain("did you mean 'api_base'");
    const strict = await runToExit(["check", "--config", path, "--strict"]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain("--strict: warnings are errors");
  });
});
