/**
 * Key management from the dashboard in a real browser (Debian's headless Chromium through
 * playwright-core), with the control plane on (an in-memory PGlite store): the operator creates a key
 * from the page, the official `openai` client calls with it (and is refused a model outside its list),
 * the page shows its spend, blocking it from the page makes the gateway refuse it, and deleting it removes
 * it. A screenshot of the keys view goes to packages/dashboard/artifacts/dashboard-keys.png.
 */
import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { llmux } from "@llmux/express";
import express from "express";
import OpenAI from "openai";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium";

const MASTER = "sk-dashboard-keys-master";
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "..", "artifacts");
const PRICED = { input_cost_per_token: 0.001, output_cost_per_token: 0.002 };

let server: Server;
let base: string;
let browser: Browser;
let gateway: ReturnType<typeof llmux>;

beforeAll(async () => {
  gateway = llmux({
    config: {
      model_list: [
        { model_name: "gpt-4o-mini", litellm_params: { model: "mock/gpt-4o-mini", ...PRICED } },
        { model_name: "claude-sonnet", litellm_params: { model: "mock/claude-sonnet", ...PRICED } },
      ],
      general_settings: { master_key: MASTER, key_store: "memory://", proxy_batch_write_at: 0.05 },
    },
  });
  await gateway.gateway.ready;
  const app = express();
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
});

function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return errors;
}

async function callWith(key: string, model = "gpt-4o-mini") {
  const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  return client.chat.completions
    .create({ model, messages: [{ role: "user", content: "hello from a key made in the browser" }] })
    .then((completion) => ({ status: 200, completion }))
    .catch((error: { status?: number; error?: { type?: string } }) => ({
      status: error.status,
      type: error.error?.type,
    }));
}

describe("key management in the dashboard (control plane on)", () => {
  it("creates a key from the page that can call, shows its spend, blocks it and deletes it", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
    const page = await context.newPage();
    const errors = watchConsole(page);
    page.on("dialog", (dialog) => void dialog.accept()); // the delete confirmation
    await page.goto(`${base}/llmux/`);
    await page.fill("#signin-key", MASTER);
    await page.click("#signin button[type=submit]");
    await page.locator("#app").waitFor({ state: "visible" });
    await page.locator("#keys-card").waitFor({ state: "visible" });
    expect(await page.locator("#keys-off").isVisible()).toBe(false);

    // Create: alias, one model, a budget.
    await page.fill("#key-alias", "browser-app");
    await page.fill("#key-models", "gpt-4o-mini");
    await page.fill("#key-budget", "5");
    await page.click("#key-create");
    await page.locator("#key-created").waitFor({ state: "visible" });
    const key = (await page.locator("#new-key").textContent())!.trim();
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
    const row = page.locator('#keys tbody tr[data-key-alias="browser-app"]');
    await row.waitFor({ state: "visible" });
    expect(await row.getAttribute("data-blocked")).toBe("false");
    expect(await row.textContent()).toContain("gpt-4o-mini");
    expect(await row.textContent()).toContain("$5.00");
    // The page never shows the key again (only its last characters of the hash).
    expect(await page.locator("#keys").textContent()).not.toContain(key);

    // The new key calls its model, and is refused another one (LiteLLM's 401 key_model_access_denied).
    const allowed = await callWith(key);
    expect(allowed.status).toBe(200);
    const other = await callWith(key, "claude-sonnet");
    expect(other).toMatchObject({ status: 401, type: "key_model_access_denied" });

    // Block from the page: the row says so and the gateway refuses the key.
    await row.locator("button", { hasText: "Block" }).click();
    await expect.poll(() => row.getAttribute("data-blocked")).toBe("true");
    expect(await callWith(key)).toMatchObject({ status: 401 });
    // The key's spend (written in batches) is shown after the refresh that the block triggered.
    const spendCell = row.locator("td").nth(3);
    await expect
      .poll(async () => {
        await row.locator("button", { hasText: /^(Unblock|Block)$/ }).click(); // each action refreshes
        return spendCell.textContent();
      })
      .not.toBe("$0");
    expect((await spendCell.textContent())!).toMatch(/^\$[0-9.e-]+$/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator("#keys-card").screenshot({ path: join(ARTIFACTS, "dashboard-keys.png") });

    // Delete from the page: the row goes and the key no longer authenticates.
    await row.locator("button", { hasText: "Delete" }).click();
    await row.waitFor({ state: "detached" });
    expect(await callWith(key)).toMatchObject({ status: 401 });

    expect(errors).toEqual([]);
    await context.close();
  });
});
