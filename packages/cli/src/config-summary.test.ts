import { resolveConfig } from "@llmux/core";
import { describe, expect, it } from "vitest";
import { describeConfig } from "./config-summary";

const models = [
  { model_name: "chat", litellm_params: { model: "mock/chat" } },
  { model_name: "backup", litellm_params: { model: "mock/backup" } },
];

describe("describeConfig (the start-up summary)", () => {
  it("names the groups with their fallbacks, the callbacks, the store and the auth", () => {
    const lines = describeConfig(
      resolveConfig({
        model_list: models,
        router_settings: { fallbacks: [{ chat: ["backup"] }] },
        litellm_settings: { callbacks: ["prometheus"], success_callback: ["langfuse"] },
        general_settings: { master_key: "sk-summary" },
      }),
    );
    expect(lines).toEqual([
      "model groups (2):",
      "  chat: 1 deployment (mock/chat); fallbacks: backup",
      "  backup: 1 deployment (mock/backup)",
      "callbacks: prometheus, langfuse (success)",
      "store: no key store (no general_settings.database_url or key_store); router state in memory",
      "auth: master key (general_settings.master_key)",
    ]);
    expect(lines.join("\n")).not.toContain("sk-summary");
  });

  it("names the embedded key store (general_settings.key_store) and PostgreSQL", () => {
    const embedded = describeConfig(
      resolveConfig({ model_list: models, general_settings: { key_store: ".llmux/store" } }),
    );
    expect(embedded).toContain(
      "store: keys in the embedded database at .llmux/store (general_settings.key_store); router state in memory",
    );
    const postgres = describeConfig(
      resolveConfig({
        model_list: models,
        general_settings: { database_url: "postgresql://llmux@127.0.0.1/llmux" },
      }),
    );
    expect(postgres.find((line) => line.startsWith("store:"))).toContain(
      "keys in PostgreSQL (general_settings.database_url)",
    );
  });
});
