import type { ResolvedConfig } from "@llmux/core";

/**
 * What a config loads, as printed at start: one line per model group (deployments, providers,
 * fallbacks), the callbacks and where keys and shared state live.
 */
export function describeConfig(config: ResolvedConfig): string[] {
  const groups = new Map<string, { count: number; models: string[] }>();
  for (const deployment of config.deployments) {
    const group = groups.get(deployment.modelGroup) ?? { count: 0, models: [] };
    group.count++;
    const model = `${deployment.provider}/${deployment.model}`;
    if (!group.models.includes(model)) group.models.push(model);
    groups.set(deployment.modelGroup, group);
  }
  const lines = [`model groups (${groups.size}):`];
  for (const [name, group] of groups) {
    const fallbacks = config.router.fallbacks[name];
    const suffix = fallbacks && fallbacks.length > 0 ? `; fallbacks: ${fallbacks.join(", ")}` : "";
    lines.push(
      `  ${name}: ${group.count} deployment${group.count === 1 ? "" : "s"} (${group.models.join(", ")})${suffix}`,
    );
  }
  const aliases = Object.entries(config.router.modelGroupAlias);
  if (aliases.length > 0) {
    lines.push(`aliases: ${aliases.map(([alias, group]) => `${alias} -> ${group}`).join(", ")}`);
  }
  lines.push(`callbacks: ${callbackNames(config).join(", ") || "none"}`);
  lines.push(`store: ${describeStore(config)}`);
  lines.push(
    `auth: ${config.masterKey ? "master key (general_settings.master_key)" : "none (open gateway)"}`,
  );
  return lines;
}

export function callbackNames(config: ResolvedConfig): string[] {
  const names: string[] = [];
  const add = (name: string, label: string) => names.push(label ? `${name} (${label})` : name);
  for (const name of config.callbacks.all) add(name, "");
  for (const name of config.callbacks.success) if (!config.callbacks.all.includes(name)) add(name, "success");
  for (const name of config.callbacks.failure) if (!config.callbacks.all.includes(name)) add(name, "failure");
  return names;
}

function describeStore(config: ResolvedConfig): string {
  const general = config.generalSettings;
  const parts: string[] = [];
  const database = general.database_url;
  const keyStore = general.key_store;
  parts.push(
    typeof database === "string" && database.length > 0
      ? `keys in ${database.startsWith("postgres") ? "PostgreSQL" : "a database"} (general_settings.database_url)`
      : typeof keyStore === "string" && keyStore.length > 0
        ? `keys in the embedded database at ${keyStore} (general_settings.key_store)`
        : "no key store (no general_settings.database_url or key_store)",
  );
  const redis = config.litellmSettings.cache_params ?? general.redis_url;
  parts.push(redis ? "Redis configured" : "router state in memory");
  return parts.join("; ");
}
