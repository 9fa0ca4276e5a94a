import { timingSafeEqual } from "node:crypto";
import type {
  CallbackSink,
  LlmuxPlugin,
  Logger,
  PluginFactory,
  PluginFactoryContext,
  PluginSharedState,
} from "@llmux/callbacks";
import { defaultSinkRegistry } from "@llmux/callbacks";
import type { ResolvedConfig } from "../config/types";
import { importOptional } from "./import-optional";

/**
 * Turns the callback names of the config into sinks and plugins. Built-in sinks (console, jsonl) come
 * from @llmux/callbacks; the others load their package on demand, so a host installs only what it uses.
 */
const PLUGIN_PACKAGES: Record<
  string,
  { packageName: string; load: () => Promise<{ createPlugin: PluginFactory }> }
> = {
  prometheus: {
    packageName: "@llmux/prometheus",
    load: () => importOptional<{ createPlugin: PluginFactory }>("@llmux/prometheus"),
  },
  otel: {
    packageName: "@llmux/otel",
    load: () => importOptional<{ createPlugin: PluginFactory }>("@llmux/otel"),
  },
  langfuse_otel: {
    packageName: "@llmux/otel",
    load: () => importOptional<{ createPlugin: PluginFactory }>("@llmux/otel"),
  },
  langfuse: {
    packageName: "@llmux/otel",
    load: () => importOptional<{ createPlugin: PluginFactory }>("@llmux/otel"),
  },
  mlflow: {
    packageName: "@llmux/mlflow",
    load: () => importOptional<{ createPlugin: PluginFactory }>("@llmux/mlflow"),
  },
};

export interface LoadedPlugins {
  sinks: CallbackSink[];
  plugins: LlmuxPlugin[];
}

export async function loadConfiguredPlugins(
  config: ResolvedConfig,
  env: Record<string, string | undefined>,
  logger: Logger,
  extra: { sharedState?: PluginSharedState; gatewayOpen?: boolean } = {},
): Promise<LoadedPlugins> {
  const result: LoadedPlugins = { sinks: [], plugins: [] };
  const control = await loadControlPlane(config, env, logger, extra);
  if (control) result.plugins.push(control);
  const names = new Map<string, "all" | "success" | "failure">();
  for (const name of config.callbacks.all) names.set(name, "all");
  for (const name of config.callbacks.success) if (!names.has(name)) names.set(name, "success");
  for (const name of config.callbacks.failure) {
    const current = names.get(name);
    names.set(name, current && current !== "failure" ? "all" : "failure");
  }
  for (const [name, only] of names) {
    if (defaultSinkRegistry.has(name)) {
      const options =
        name === "jsonl"
          ? {
              path: String(config.generalSettings.jsonl_path ?? env.LLMUX_JSONL_PATH ?? ".llmux/calls.jsonl"),
            }
          : {};
      result.sinks.push(restrict(defaultSinkRegistry.create(name, options), only));
      continue;
    }
    const entry = PLUGIN_PACKAGES[name];
    if (!entry) {
      logger.warn(`callback '${name}' is not supported by llmux and is ignored`, {
        supported: ["console", "jsonl", ...Object.keys(PLUGIN_PACKAGES)],
      });
      continue;
    }
    let module: { createPlugin: PluginFactory };
    try {
      module = await entry.load();
    } catch (error) {
      throw new Error(
        `callback '${name}' needs the package ${entry.packageName}: npm install ${entry.packageName} (${(error as Error).message})`,
      );
    }
    const plugin = await module.createPlugin(name, {
      logger,
      env,
      settings: config.litellmSettings,
      redact: config.redact,
    });
    result.plugins.push(
      plugin.sink && only !== "all" ? { ...plugin, sink: restrict(plugin.sink, only) } : plugin,
    );
  }
  return result;
}

/**
 * A sink limited to successes or failures (success_callback / failure_callback). Delegates to the
 * original object, so sinks with their own state (batching buffers, timers) keep working.
 */
export function restrict(sink: CallbackSink, only: "all" | "success" | "failure"): CallbackSink {
  if (only === "all") return sink;
  const wrapper: { -readonly [K in keyof CallbackSink]: CallbackSink[K] } = { name: sink.name, only };
  if (sink.queueSize !== undefined) wrapper.queueSize = sink.queueSize;
  if (only === "success" && sink.onSuccess) wrapper.onSuccess = (event) => sink.onSuccess!(event);
  if (only === "failure" && sink.onFailure) wrapper.onFailure = (event) => sink.onFailure!(event);
  if (sink.flush) wrapper.flush = () => sink.flush!();
  if (sink.shutdown) wrapper.shutdown = () => sink.shutdown!();
  return wrapper;
}

/** The general_settings keys that @llmux/control reads (LiteLLM's names); the master key is not passed. */
const CONTROL_SETTINGS = [
  "database_url",
  "key_store",
  "user_api_key_cache_ttl",
  "proxy_batch_write_at",
  "maximum_spend_logs_retention_period",
] as const;

/**
 * The control plane (virtual keys, budgets, spend logs) of @llmux/control, on when the config names a
 * database: general_settings.database_url, DATABASE_URL, or general_settings.key_store (a PGlite
 * directory). Imported by specifier, so the core never depends on pg or PGlite.
 */
async function loadControlPlane(
  config: ResolvedConfig,
  env: Record<string, string | undefined>,
  logger: Logger,
  extra: { sharedState?: PluginSharedState; gatewayOpen?: boolean },
): Promise<LlmuxPlugin | undefined> {
  const general = config.generalSettings;
  if (!general.database_url && !env.DATABASE_URL && !general.key_store) return undefined;
  const generalSettings: Record<string, unknown> = {};
  for (const name of CONTROL_SETTINGS) if (general[name] !== undefined) generalSettings[name] = general[name];
  let module: { createPlugin: PluginFactory };
  try {
    module = await importOptional<{ createPlugin: PluginFactory }>("@llmux/control");
  } catch (error) {
    throw new Error(
      `general_settings.database_url / DATABASE_URL / general_settings.key_store need the package @llmux/control: npm install @llmux/control (${(error as Error).message})`,
    );
  }
  const masterKey = config.masterKey;
  const context: PluginFactoryContext = {
    logger,
    env,
    settings: config.litellmSettings,
    redact: config.redact,
    generalSettings,
    gatewayOpen: extra.gatewayOpen === true,
    isMasterKey: (token) => {
      if (!masterKey) return false;
      const left = Buffer.from(token);
      const right = Buffer.from(masterKey);
      return left.length === right.length && timingSafeEqual(left, right);
    },
  };
  if (extra.sharedState) context.sharedState = extra.sharedState;
  return module.createPlugin("control", context);
}
