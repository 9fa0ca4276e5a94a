/**
 * The packages as a user gets them: every publishable package of packages/ is `npm pack`ed, its
 * package.json and tarball checked (files, exports for ESM + CommonJS + types, engines, README,
 * LICENSE, no sources or tests), then all tarballs are installed into a fresh project in the system's
 * temporary folder, outside the workspace (npm install from the tarballs; third-party dependencies
 * from npm's cache when it has them). From that install: every package is loaded with import() and
 * require() (the same exports), TypeScript resolves the types of both, an Express app mounts
 * @llmux/express and calls a mock model (the installed @llmux/testing mock provider) with the openai
 * client, and the installed `llmux` command serves a LiteLLM config and answers.
 *
 * Heavy (an npm install of ~200 packages): LLMUX_CI_HEAVY=0 skips it with the reason printed; .ci/run
 * sets that for its second Node pass, so CI runs it once.
 */
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuiltAll, repositoryRoot } from "./build-once";

const heavy = process.env.LLMUX_CI_HEAVY !== "0";
if (heavy) {
  process.stdout.write(
    "[packages.test] packing every package and installing the tarballs (heavy test: runs)\n",
  );
} else {
  process.stdout.write(
    "[packages.test] skipped: LLMUX_CI_HEAVY=0 (the pack + install test runs on the other CI pass)\n",
  );
}

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: { node?: string };
  main?: string;
  module?: string;
  types?: string;
  bin?: Record<string, string>;
  files?: string[];
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
}

const packagesDirectory = join(repositoryRoot, "packages");
const publishable = readdirSync(packagesDirectory)
  .filter((name) => existsSync(join(packagesDirectory, name, "package.json")))
  .map((name) => {
    const directory = join(packagesDirectory, name);
    const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as PackageJson;
    return { directory, manifest };
  })
  .filter(({ manifest }) => !manifest.private);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
  timeoutMs = 240_000,
): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

const describeHeavy = heavy ? describe : describe.skip;

describeHeavy("npm pack + install from the tarballs into a fresh project", () => {
  let root: string;
  let project: string;
  let tarballs: Map<string, { filename: string; files: string[] }>;
  let mock: MockProvider;

  beforeAll(async () => {
    ensureBuiltAll();
    root = mkdtempSync(join(tmpdir(), "llmux-packages-"));
    expect(relative(repositoryRoot, root).startsWith("..")).toBe(true);
    const destination = join(root, "tarballs");
    mkdirSync(destination);
    const packed = await run(
      "npm",
      [
        "pack",
        "--json",
        "--pack-destination",
        destination,
        ...publishable.map(({ directory }) => `--workspace=${relative(repositoryRoot, directory)}`),
      ],
      repositoryRoot,
    );
    if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
    const listing = JSON.parse(packed.stdout) as Array<{
      name: string;
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarballs = new Map(
      listing.map((entry) => [
        entry.name,
        { filename: join(destination, entry.filename), files: entry.files.map((file) => file.path) },
      ]),
    );

    project = join(root, "project");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "llmux-install-check", private: true, type: "module" }, null, 2),
    );
    const version = (name: string) =>
      (
        JSON.parse(
          readFileSync(join(repositoryRoot, "node_modules", name, "package.json"), "utf8"),
        ) as PackageJson
      ).version;
    const installed = await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        ...[...tarballs.values()].map((tarball) => tarball.filename),
        `express@${version("express")}`,
        `openai@${version("openai")}`,
      ],
      project,
      {},
      540_000,
    );
    if (installed.code !== 0) {
      throw new Error(`npm install of the tarballs failed (exit ${installed.code}):\n${installed.stderr}`);
    }
    mock = await startMockProvider();
  }, 600_000);

  afterAll(async () => {
    await mock?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 180_000);

  it("packs every package with dist (ESM, CommonJS, both declaration files), README, LICENSE and engines; no sources", () => {
    expect(publishable.map(({ manifest }) => manifest.name).sort()).toEqual([...tarballs.keys()].sort());
    for (const { manifest } of publishable) {
      const where = manifest.name;
      expect(manifest.license, where).toBe("MIT");
      expect(manifest.engines?.node, where).toBe(">=20.19");
      expect(manifest.files, where).toEqual(expect.arrayContaining(["dist", "README.md", "LICENSE"]));
      expect(manifest.exports?.["."], where).toEqual({
        import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
        require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
      });
      expect([manifest.main, manifest.module, manifest.types], where).toEqual([
        "./dist/index.cjs",
        "./dist/index.js",
        "./dist/index.d.ts",
      ]);
      for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
        // Workspace packages depend on this release (0.1.0 or ^0.1.0), never "*", file: or workspace:.
        if (dependency.startsWith("@llmux/")) {
          expect(range.replace(/^\^/, ""), `${where} → ${dependency}`).toBe(manifest.version);
        }
      }
      const files = tarballs.get(manifest.name)!.files;
      for (const file of [
        "package.json",
        "README.md",
        "LICENSE",
        "dist/index.js",
        "dist/index.cjs",
        "dist/index.d.ts",
        "dist/index.d.cts",
      ]) {
        expect(files, `${where} has ${file}`).toContain(file);
      }
      for (const target of Object.values(manifest.bin ?? {})) {
        expect(files, `${where} bin`).toContain(target.replace(/^\.\//, ""));
      }
      expect(
        files.filter((file) => file.startsWith("src/") || file.startsWith("test/") || /\.test\./.test(file)),
        where,
      ).toEqual([]);
    }
  }, 180_000);

  it("loads every installed package with import() and require(), with the same exports", async () => {
    const names = [...tarballs.keys()];
    writeFileSync(
      join(project, "load-all.cjs"),
      `const names = ${JSON.stringify(names)};
const result = {};
(async () => {
  for (const name of names) {
    const required = Object.keys(require(name)).sort();
    const imported = Object.keys(await import(name)).filter((key) => key !== "default").sort();
    result[name] = { required, imported };
  }
  process.stdout.write(JSON.stringify(result));
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    const loaded = await run(process.execPath, ["load-all.cjs"], project);
    expect(loaded.stderr).toBe("");
    expect(loaded.code).toBe(0);
    const result = JSON.parse(loaded.stdout) as Record<string, { required: string[]; imported: string[] }>;
    for (const name of names) {
      expect(result[name]!.required.length, name).toBeGreaterThan(0);
      expect(result[name]!.required, name).toEqual(result[name]!.imported);
    }
    expect(result["@llmux/core"]!.imported).toEqual(
      expect.arrayContaining(["createGateway", "createHandler"]),
    );
  }, 180_000);

  it("gives TypeScript the types of every package, for ESM (import) and CommonJS (require) consumers", async () => {
    const names = [...tarballs.keys()];
    writeFileSync(
      join(project, "types-esm.mts"),
      `${names.map((name, index) => `import * as esm${index} from "${name}";`).join("\n")}
import { type LlmuxConfig, createGateway } from "@llmux/core";
import { llmux } from "@llmux/express";
const config: LlmuxConfig = { model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }] };
export const middleware = llmux({ config });
export const gateway = createGateway({ config });
// @ts-expect-error model_list must be an array: the declarations are real, not any
export const wrong: LlmuxConfig = { model_list: "nope" };
export const all = [${names.map((_, index) => `esm${index}`).join(", ")}];
`,
    );
    writeFileSync(
      join(project, "types-cjs.cts"),
      `import core = require("@llmux/core");
import express = require("@llmux/express");
import cli = require("llmux");
const config: core.LlmuxConfig = { model_list: [{ model_name: "m", litellm_params: { model: "mock/m" } }] };
export const middleware = express.llmux({ config });
export const start: typeof cli.startServer = cli.startServer;
// @ts-expect-error model_list must be an array: the declarations are real, not any
export const wrong: core.LlmuxConfig = { model_list: "nope" };
`,
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(repositoryRoot, "node_modules", "@types")],
        },
        files: ["types-esm.mts", "types-cjs.cts"],
      }),
    );
    const tsc = join(repositoryRoot, "node_modules", "typescript", "bin", "tsc");
    const checked = await run(process.execPath, [tsc, "-p", "tsconfig.json"], project);
    expect(checked.stdout + checked.stderr).toBe("");
    expect(checked.code).toBe(0);
  }, 180_000);

  it("runs an Express app with @llmux/express that calls the installed mock provider", async () => {
    writeFileSync(
      join(project, "app.mjs"),
      `import { once } from "node:events";
import express from "express";
import OpenAI from "openai";
import { llmux } from "@llmux/express";
import { startMockProvider } from "@llmux/testing";

const mock = await startMockProvider();
const app = express();
app.use(express.json());
app.get("/api/hello", (request, response) => response.json({ hello: "from the host app" }));
const gateway = llmux({
  config: {
    model_list: [
      { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_base: mock.url + "/v1", api_key: "sk-upstream" } },
    ],
    litellm_settings: { callbacks: ["prometheus"] },
    general_settings: { master_key: "sk-packed-master" },
  },
});
app.use("/v1", gateway, gateway.errorHandler);
app.get("/metrics", gateway);
const server = app.listen(0, "127.0.0.1");
await once(server, "listening");
const base = "http://127.0.0.1:" + server.address().port;
const client = new OpenAI({ baseURL: base + "/v1", apiKey: "sk-packed-master", maxRetries: 0 });
const { data, response } = await client.chat.completions
  .create({ model: "gpt-4o", messages: [{ role: "user", content: "hello from a packed install" }] })
  .withResponse();
let streamed = "";
for await (const chunk of await client.chat.completions.create({
  model: "gpt-4o",
  messages: [{ role: "user", content: "stream" }],
  stream: true,
})) streamed += chunk.choices[0]?.delta?.content ?? "";
const hello = await (await fetch(base + "/api/hello")).json();
const metrics = await (await fetch(base + "/metrics", { headers: { authorization: "Bearer sk-packed-master" } })).text();
const result = {
  content: data.choices[0].message.content,
  streamed,
  provider: response.headers.get("x-llmux-provider"),
  cost: response.headers.get("x-llmux-response-cost"),
  hello,
  upstream: mock.requests.map((request) => [request.path, request.headers.authorization]),
  metrics: metrics.includes("llmux_requests_total"),
};
server.close();
await gateway.gateway.shutdown();
await mock.close();
process.stdout.write(JSON.stringify(result));
`,
    );
    const app = await run(process.execPath, ["app.mjs"], project, {}, 60_000);
    expect(app.stderr).toBe("");
    expect(app.code).toBe(0);
    const result = JSON.parse(app.stdout);
    expect(result.content).toMatch(/^Mock reply:/);
    expect(result.streamed).toMatch(/^Mock reply:/);
    expect(result.provider).toBe("openai");
    expect(Number(result.cost)).toBeGreaterThan(0);
    expect(result.hello).toEqual({ hello: "from the host app" });
    expect(result.upstream).toEqual([
      ["/v1/chat/completions", "Bearer sk-upstream"],
      ["/v1/chat/completions", "Bearer sk-upstream"],
    ]);
    expect(result.metrics).toBe(true);
  }, 180_000);

  it("runs the installed llmux command: --version, check, and serving a config that calls a mock model", async () => {
    const bin = join(project, "node_modules", ".bin", "llmux");
    const { version } = JSON.parse(readFileSync(join(packagesDirectory, "cli", "package.json"), "utf8"));
    const shown = await run(bin, ["--version"], project);
    expect(shown.stdout.trim()).toBe(version);

    writeFileSync(
      join(project, "litellm_config.yaml"),
      `model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: ${mock.url}/v1
      api_key: os.environ/UPSTREAM_KEY
litellm_settings:
  callbacks: [prometheus]
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`,
    );
    const env = { UPSTREAM_KEY: "sk-packed-upstream", LITELLM_MASTER_KEY: "sk-packed-master" };
    const check = await run(bin, ["check", "--strict", "--config", "litellm_config.yaml"], project, env);
    expect(check.stdout).toContain("0 errors, 0 warnings");
    expect(check.code).toBe(0);

    const { spawn } = await import("node:child_process");
    const child = spawn(bin, ["--config", "litellm_config.yaml", "--port", "0"], {
      cwd: project,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      child.stdout.setEncoding("utf8");
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (text: string) => {
          out += text;
          const match = /^llmux listening on (http:\/\/\S+)/m.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once("exit", (code) => reject(new Error(`llmux exited (${code}) before listening:\n${out}`)));
      });
      expect(out).toContain("gpt-4o: 1 deployment (openai/gpt-4o)");
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "sk-packed-master", maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "hello from the installed command" }],
      });
      expect(completion.choices[0]?.message.content).toMatch(/^Mock reply:/);
      expect(mock.requests.at(-1)?.headers.authorization).toBe("Bearer sk-packed-upstream");
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 180_000);
});
