/**
 * rediss:// (TLS): a redis-server of this test's own with a TLS port only and a certificate from a CA the
 * test makes (openssl); the gateway trusts that CA through router_settings.redis_ssl_ca_certs and shares
 * state over TLS. A gateway that does not trust the CA falls back to local state and still serves calls.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, eventually, type Instance, startInstance } from "./gateway-support";
import { freePort } from "./support";

let directory: string;
let server: ChildProcess | undefined;
let port: number;
let mock: MockProvider;
const instances: Instance[] = [];

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { cwd: directory, stdio: "pipe" });
  } catch (error) {
    throw new Error(`this test makes its certificates with openssl, which failed or is missing: ${error}`);
  }
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "llmux-redis-tls-"));
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=llmux-test-ca",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ]);
  openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  ]);
  execFileSync("sh", ["-c", "printf 'subjectAltName=IP:127.0.0.1' > san.cnf"], { cwd: directory });
  openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "san.cnf",
    "-out",
    "server.pem",
  ]);
  port = await freePort();
  server = spawn(
    "redis-server",
    [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--tls-cert-file",
      join(directory, "server.pem"),
      "--tls-key-file",
      join(directory, "server.key"),
      "--tls-ca-cert-file",
      join(directory, "ca.pem"),
      "--tls-auth-clients",
      "no",
    ],
    { stdio: "ignore" },
  );
  mock = await startMockProvider();
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.close()));
  server?.kill("SIGKILL");
  await mock.close();
  rmSync(directory, { recursive: true, force: true });
});

function config(routerSettings: Record<string, unknown>) {
  return {
    model_list: [
      {
        model_name: "g",
        litellm_params: { model: "openai/gpt-4o-mini", api_key: "sk-upstream", api_base: `${mock.url}/v1` },
        model_info: { id: "tls-one" },
      },
    ],
    router_settings: routerSettings,
  };
}

describe("Redis over TLS (rediss://)", () => {
  it("two instances share a cooldown through a TLS-only Redis", async () => {
    const settings = {
      redis_url: `rediss://127.0.0.1:${port}`,
      redis_ssl_ca_certs: join(directory, "ca.pem"),
      redis_sync_interval_ms: 50,
    };
    // the server may still be starting: instances connect (or reconnect) by themselves
    const a = await startInstance(config(settings));
    const b = await startInstance(config(settings));
    instances.push(a, b);
    expect(
      await eventually(async () => {
        await chat(a.base, { model: "g", messages: [{ role: "user", content: "hi" }] });
        return (
          (a.gateway.sharedState as unknown as { degraded: boolean }).degraded === false &&
          (await a.gateway.sharedState.incr("tls-probe", 1)) > 0
        );
      }, 10_000),
    ).toBe(true);
    (
      a.gateway.router as unknown as { state: { setCooldown(id: string, until: number): void } }
    ).state.setCooldown("tls-one", Date.now() + 30_000);
    expect(
      await eventually(
        () => b.gateway.router.coolingDeployments().some((entry) => entry.deployment.id === "tls-one"),
        3_000,
      ),
    ).toBe(true);
  });

  it("without trusting the server's CA, calls still succeed on local state", async () => {
    const c = await startInstance(config({ redis_url: `rediss://127.0.0.1:${port}` }));
    instances.push(c);
    for (let index = 0; index < 3; index++) {
      const result = await chat(c.base, { model: "g", messages: [{ role: "user", content: "hi" }] });
      // the deployment may be cooling from the first test only on instances that share state: this one does not
      expect(result.status).toBe(200);
    }
    expect((c.gateway.sharedState as unknown as { degraded: boolean }).degraded).toBe(true);
  });
});
