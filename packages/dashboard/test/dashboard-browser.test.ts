/**
 * The dashboard in a real browser: Debian's headless Chromium driven by playwright-core, against an
 * Express app with the gateway at /v1 and the dashboard at /llmux (`app.use("/llmux", gateway.dashboard)`),
 * routing to the mock provider server. Calls are sent with the official `openai` client; the page must
 * show them with the costs the gateway reported, show the failing deployment cooling down, show nothing
 * to a browser without the master key, and log no console errors. A screenshot is written to
 * packages/dashboard/artifacts/dashboard.png (gitignored; CI keeps it as an artifact).
 */
import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { llmux } from "@llmux/express";
import { type MockProvider, startMockProvider } from "@llmux/testing";
import express from "express";
import OpenAI from "openai";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium";

const MASTER = "sk-dashboard-master";
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "..", "artifacts");

let mock: MockProvider;
let server: Server;
let base: string;
let browser: Browser;
let gateway: ReturnType<typeof llmux>;
/** Call id → the cost the gateway reported to the client (header or usage.cost of the stream). */
const sent = new Map<string, number>();

beforeAll(async () => {
  mock = await startMockProvider();
  // Every request to this "deployment" is refused with 429 and retry-after 120 s: it cools down.
  mock.scenario("down", { status: 429, retryAfterSeconds: 120 });
  gateway = llmux({
    config: {
      model_list: [
        {
          model_name: "gpt-4o-mini",
          litellm_params: { model: "openai/gpt-4o-mini", api_base: `${mock.url}/v1`, api_key: "sk-upstream" },
          model_info: { id: "mini-east" },
        },
        {
          model_name: "flaky",
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: `${mock.scenarioUrl("down")}/v1`,
            api_key: "sk-upstream",
          },
          model_info: { id: "flaky-east" },
        },
      ],
      router_settings: { num_retries: 0 },
      general_settings: { master_key: MASTER },
    },
  });
  const app = express();
  app.use(express.json());
  app.use("/v1", gateway, gateway.errorHandler);
  app.use("/llmux", gateway.dashboard);
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await gateway?.gateway.shutdown();
  await mock?.close();
});

async function sendCalls(): Promise<void> {
  const client = new OpenAI({ apiKey: MASTER, baseURL: `${base}/v1`, maxRetries: 0 });
  for (const [index, user] of ["alice", "bob", "alice"].entries()) {
    const { data, response } = await client.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `hello dashboard ${index}` }],
        user,
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    const cost = response.headers.get("x-llmux-response-cost");
    expect(cost, "the gateway priced the call").toBeTruthy();
    sent.set(response.headers.get("x-llmux-call-id")!, Number(cost));
  }
  const { data: stream, response } = await client.chat.completions
    .create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "stream to the dashboard" }],
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  let streamCost: number | undefined;
  for await (const chunk of stream) {
    const cost = (chunk.usage as { cost?: unknown } | null | undefined)?.cost;
    if (cost !== undefined)
      streamCost = typeof cost === "number" ? cost : Number((cost as { total: number }).total);
  }
  expect(streamCost).toBeGreaterThan(0);
  sent.set(response.headers.get("x-llmux-call-id")!, streamCost!);
  // The failing deployment: a 429 with retry-after puts it in cooldown.
  await expect(
    client.chat.completions.create({
      model: "flaky",
      messages: [{ role: "user", content: "are you there?" }],
    }),
  ).rejects.toMatchObject({ status: 429 });
  await gateway.gateway.flush();
}

function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return errors;
}

describe("the dashboard in Chromium", () => {
  it("shows live calls with their costs, a cooling deployment and a call's detail to the master key only", async () => {
    await sendCalls();
    const ids = [...sent.keys()];
    expect(ids).toHaveLength(4);

    // A browser without the key: the sign-in form only, no call data, no management controls.
    const anonymous = await browser.newContext();
    const stranger = await anonymous.newPage();
    const strangerErrors = watchConsole(stranger);
    const redirected = await stranger.goto(`${base}/llmux`);
    expect(redirected!.url()).toBe(`${base}/llmux/`);
    await stranger.locator("#signin").waitFor({ state: "visible" });
    expect(await stranger.locator("#app").isVisible()).toBe(false);
    expect(await stranger.locator("#calls tbody tr").count()).toBe(0);
    expect(await stranger.locator("#key-form").isVisible()).toBe(false);
    const html = await stranger.content();
    for (const id of ids) expect(html).not.toContain(id);
    // A wrong key is refused in the form.
    await stranger.fill("#signin-key", "sk-wrong");
    await stranger.click("#signin button[type=submit]");
    await expect
      .poll(() => stranger.locator("#signin-error").textContent())
      .toBe("That key is not accepted.");
    expect(await stranger.locator("#app").isVisible()).toBe(false);
    // The data endpoints refuse it too.
    const direct = await stranger.evaluate(async () => {
      const response = await fetch("api/calls");
      return { status: response.status, text: await response.text() };
    });
    expect(direct.status).toBe(401);
    for (const id of ids) expect(direct.text).not.toContain(id);
    expect(strangerErrors.filter((text) => !text.includes("401"))).toEqual([]);
    await anonymous.close();

    // The operator signs in with the master key.
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const errors = watchConsole(page);
    await page.goto(`${base}/llmux/`);
    await page.locator("#signin").waitFor({ state: "visible" });
    await page.fill("#signin-key", MASTER);
    await page.click("#signin button[type=submit]");
    await page.locator("#app").waitFor({ state: "visible" });

    for (const [id, cost] of sent) {
      const row = page.locator(`#calls tbody tr[data-call-id="${id}"]`);
      await row.waitFor({ state: "visible", timeout: 30_000 });
      const cell = row.locator("td.cost");
      expect(Number(await cell.getAttribute("data-cost")), `cost of ${id}`).toBe(cost);
      expect(await cell.textContent()).toMatch(/^\$[0-9.e-]+$/);
      expect(await row.getAttribute("data-status")).toBe("success");
    }
    // The failed call is listed with its error.
    const failed = page.locator('#calls tbody tr[data-status="failure"]');
    await failed.first().waitFor({ state: "visible" });
    expect(await failed.first().textContent()).toContain("429");

    // The failing deployment shows as cooling down, with why.
    const flaky = page.locator('#deployments tr[data-deployment-id="flaky-east"]');
    await expect.poll(() => flaky.getAttribute("data-state"), { timeout: 30_000 }).toBe("cooling");
    expect(await flaky.locator("td.state").textContent()).toMatch(/cooling down until .*\(rate_limit\)/);
    expect(
      await page.locator('#deployments tr[data-deployment-id="mini-east"]').getAttribute("data-state"),
    ).toBe("healthy");

    // Model groups: 4 calls to gpt-4o-mini without error, 1 failed call to flaky.
    const mini = page.locator('#models tr[data-model-group="gpt-4o-mini"]');
    await expect.poll(() => mini.locator("td").nth(1).textContent(), { timeout: 30_000 }).toBe("4");
    expect(await page.locator('#models tr[data-model-group="flaky"] td').nth(3).textContent()).toBe("100.0%");

    // The spend chart is drawn (uPlot canvas) and the key view says the control plane is off.
    await page.locator("#spend-chart canvas").first().waitFor({ state: "visible" });
    expect(await page.locator("#keys-card").isVisible()).toBe(false);
    expect(await page.locator("#keys-off").isVisible()).toBe(true);

    // The key is kept for this tab only: sessionStorage, never localStorage or a cookie.
    // (Evaluated as text: the test's TypeScript has no DOM types.)
    expect(await page.evaluate('sessionStorage.getItem("llmux.dashboard.key")')).toBe(MASTER);
    expect(await page.evaluate("localStorage.length")).toBe(0);
    expect(await context.cookies()).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, "dashboard.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`dashboard screenshot: ${screenshot}`);

    // A call's detail: attempts and messages (content logging is on).
    const firstId = ids[0]!;
    await page.click(`#calls tbody tr[data-call-id="${firstId}"]`);
    const dialog = page.locator("#call-detail");
    await dialog.waitFor({ state: "visible" });
    expect(await dialog.textContent()).toContain("Attempts (1)");
    expect(await dialog.textContent()).toContain("mini-east");
    expect(await dialog.textContent()).toContain("hello dashboard 0");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-call.png") });

    expect(errors).toEqual([]);
    await context.close();
  });
});
