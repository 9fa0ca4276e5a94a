/**
 * createPlugin: what the gateway calls when `litellm_settings.callbacks` names "otel",
 * "langfuse_otel" or "langfuse". Every variant returns the ONE shared call tracer, so a config
 * listing both otel and langfuse_otel produces one span per call, exported to both places.
 */
import type { LlmuxPlugin, PluginFactory, PluginFactoryContext, PluginRoute } from "@llmux/callbacks";
import { LlmuxOtelError } from "./errors";
import { langfuseExporter, langfuseSettings, otlpExporter } from "./exporters";
import { feedbackRoute } from "./feedback-route";
import { langfuseFeedback } from "./langfuse-feedback";
import { addSpanExporter, getSharedCallTracer, sharedTraceLabels } from "./registry";

export const PLUGIN_NAMES = ["otel", "langfuse_otel", "langfuse"] as const;

function settingFlag(settings: Record<string, unknown>, key: string): boolean | undefined {
  const value = settings[key];
  return typeof value === "boolean" ? value : undefined;
}

function settingString(settings: Record<string, unknown>, key: string): string | undefined {
  const value = settings[key];
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

export const createPlugin: PluginFactory = (name: string, context: PluginFactoryContext): LlmuxPlugin => {
  const env = context.env;
  const settings = context.settings ?? {};
  if (!(PLUGIN_NAMES as readonly string[]).includes(name)) {
    throw new LlmuxOtelError(
      "invalid_configuration",
      `@llmux/otel has no plugin named '${name}' (it provides: ${PLUGIN_NAMES.join(", ")})`,
    );
  }
  const langfuse = name === "langfuse_otel" || name === "langfuse";
  if (name === "langfuse") {
    context.logger.warn(
      "callback 'langfuse' is served by llmux's OpenTelemetry exporter; use 'langfuse_otel' to say so explicitly",
      { callback: name },
    );
  }

  const tracer = getSharedCallTracer({
    captureContent: context.redact ? false : (settingFlag(settings, "otel_capture_content") ?? true),
    environment: settingString(settings, "langfuse_environment") ?? env.LANGFUSE_TRACING_ENVIRONMENT?.trim(),
    release: settingString(settings, "langfuse_release") ?? env.LANGFUSE_RELEASE?.trim(),
  });

  const routes: PluginRoute[] = [];
  let handle: ReturnType<typeof addSpanExporter>;
  if (langfuse) {
    const connection = langfuseSettings({ env });
    handle = addSpanExporter(langfuseExporter({ env }), { logger: context.logger });
    if (settingFlag(settings, "langfuse_feedback_route") !== false) {
      const environment = () => sharedTraceLabels().environment;
      routes.push(
        feedbackRoute(tracer, langfuseFeedback({ ...connection, environment, logger: context.logger })),
      );
    }
    context.logger.info("Langfuse tracing enabled", { endpoint: connection.baseUrl, callback: name });
  } else {
    const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
    if (protocol && protocol !== "http/protobuf" && protocol !== "http/json") {
      context.logger.warn(
        `OTLP protocol '${protocol}' is not supported by llmux; exporting with http/protobuf`,
        {
          callback: name,
        },
      );
    }
    if (!env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() && !env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) {
      context.logger.warn(
        "callback 'otel' without OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: exporting to http://localhost:4318/v1/traces",
        { callback: name },
      );
    }
    const exporter = otlpExporter({ env });
    handle = addSpanExporter(exporter, { logger: context.logger });
    context.logger.info("OTLP tracing enabled", { endpoint: exporter.url, callback: name });
  }

  return {
    name,
    tracer,
    routes: routes.length > 0 ? routes : undefined,
    flush: () => handle.flush(),
    shutdown: (options) => handle.remove(options),
  };
};
