import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGateway, createHandler, type GatewayOptions, type LlmuxConfig } from "@llmux/core";

export const MASTER_KEY = "sk-master-test-0123456789";
/** Price of the mock models: $1 per 1 000 input tokens, $2 per 1 000 output tokens. */
export const PRICED = { input_cost_per_token: 0.001, output_cost_per_token: 0.002 };

export function testConfig(generalSettings: Record<string, unknown>): LlmuxConfig {
  return {
    model_list: [
      {
        model_name: "gpt-4o-mini",
        litellm_params: { model: "mock/gpt-4o-mini", ...PRICED },
        model_info: { id: "mock-mini" },
      },
      {
        model_name: "claude-sonnet",
        litellm_params: { model: "mock/claude-sonnet", ...PRICED },
        model_info: { id: "mock-claude" },
      },
      {
        model_name: "slow",
        litellm_params: { model: "mock/slow", mock_latency_ms: 2_000, ...PRICED },
        model_info: { id: "mock-slow" },
      },
    ],
    general_settings: { master_key: MASTER_KEY, ...generalSettings },
  } as LlmuxConfig;
}

export interface Harness {
  base: string;
  gateway: ReturnType<typeof createGateway>;
  close(): Promise<void>;
  /** JSON request with a bearer token; returns status, headers and parsed body. */
  call(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; headers: Headers; body: any }>;
  /** Resolves once a call to `model` has started (its start event: the call passed the control plane's checks). */
  waitForStart(model: string): Promise<void>;
  chat(
    token: string | undefined,
    model?: string,
    extra?: Record<string, unknown>,
  ): Promise<{ status: number; headers: Headers; body: any }>;
}

/** A real HTTP server on 127.0.0.1:0 serving the gateway's handler at /v1 (and the management routes at /). */
export async function startGateway(options: GatewayOptions): Promise<Harness> {
  const started: string[] = [];
  const gateway = createGateway({
    quietOpenWarning: true,
    ...options,
    sinks: [
      ...(options.sinks ?? []),
      { name: "starts", onStart: (event) => void started.push(event.modelGroup) },
    ],
  });
  await gateway.ready;
  const handler = createHandler(gateway);
  const server: Server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call: Harness["call"] = async (method, path, token, body) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  return {
    base,
    gateway,
    call,
    async waitForStart(model) {
      while (!started.includes(model)) await new Promise((resolve) => setTimeout(resolve, 10));
      started.splice(started.indexOf(model), 1);
    },
    chat: (token, model = "gpt-4o-mini", extra = {}) =>
      call("POST", "/v1/chat/completions", token, {
        model,
        messages: [{ role: "user", content: "hello there" }],
        ...extra,
      }),
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await gateway.shutdown?.();
    },
  };
}
