/**
 * setupTracing: the one call a host makes when it wants llmux to run OpenTelemetry for it.
 *
 * - No global tracer provider yet: builds a NodeTracerProvider over llmux's shared exporters,
 *   registers it (AsyncLocalStorage context manager, W3C trace-context + baggage propagators) and
 *   registers the http, express, koa and nestjs-core instrumentations, so the host's requests get
 *   SERVER spans and llmux's call spans nest under them.
 * - A host provider already registered (the host runs its own SDK): it is never replaced. llmux
 *   keeps its own provider for its exporters (SDK 2 providers cannot gain span processors after
 *   construction) and relies on the host's context manager for parenting; if the host registered
 *   no context manager, llmux registers an AsyncLocalStorage one (that replaces nothing).
 */
import { createRequire } from "node:module";
import { context, createContextKey, propagation, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { langfuseExporter, otlpExporter } from "./exporters";
import {
  addSpanExporter,
  buildResource,
  defaultServiceName,
  droppedSpans,
  type ExporterHandle,
  flushTracing,
  hasGlobalTracerProvider,
  sharedTracing,
  tracingStats,
} from "./registry";
import type { Environment, SetupTracingOptions, TracingHandle } from "./types";
import { isUntracedRequest } from "./untraced-requests";

/** Exporters the environment asks for: Langfuse when both keys are set, OTLP when an endpoint is set. */
export function exportersFromEnvironment(env: Environment): SpanExporter[] {
  const exporters: SpanExporter[] = [];
  if (env.LANGFUSE_PUBLIC_KEY?.trim() && env.LANGFUSE_SECRET_KEY?.trim())
    exporters.push(langfuseExporter({ env }));
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) {
    exporters.push(otlpExporter({ env }));
  }
  return exporters;
}

const probeKey = createContextKey("llmux.context-manager-probe");

/** true when a context manager that propagates context is registered (the no-op one does not). */
export function hasContextManager(): boolean {
  return context.with(
    ROOT_CONTEXT.setValue(probeKey, true),
    () => context.active().getValue(probeKey) === true,
  );
}

/** Registers an AsyncLocalStorage context manager if, and only if, none is registered. */
export function ensureContextManager(): boolean {
  if (hasContextManager()) return false;
  return context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * The instrumentations, loaded when setupTracing registers them: a gateway that only exports its
 * own spans (`callbacks: [otel]`) never loads them (about 4.7 MB of resident memory and 1.7 MB of
 * live heap). Loaded synchronously (require), so setupTracing still registers them before it
 * returns, before the host loads its framework.
 */
function registerHostInstrumentations(
  provider: NodeTracerProvider,
  ignoreIncomingRequest: (request: import("node:http").IncomingMessage) => boolean,
): () => void {
  const load = createRequire(import.meta.url);
  const { registerInstrumentations } = load(
    "@opentelemetry/instrumentation",
  ) as typeof import("@opentelemetry/instrumentation");
  const { HttpInstrumentation } = load(
    "@opentelemetry/instrumentation-http",
  ) as typeof import("@opentelemetry/instrumentation-http");
  const { ExpressInstrumentation } = load(
    "@opentelemetry/instrumentation-express",
  ) as typeof import("@opentelemetry/instrumentation-express");
  const { KoaInstrumentation } = load(
    "@opentelemetry/instrumentation-koa",
  ) as typeof import("@opentelemetry/instrumentation-koa");
  const { NestInstrumentation } = load(
    "@opentelemetry/instrumentation-nestjs-core",
  ) as typeof import("@opentelemetry/instrumentation-nestjs-core");
  return registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // health probes and feedback calls get no trace of their own (untraced-requests.ts)
      new HttpInstrumentation({ ignoreIncomingRequestHook: ignoreIncomingRequest }),
      new ExpressInstrumentation(),
      new KoaInstrumentation(),
      new NestInstrumentation(),
    ],
  });
}

export function setupTracing(options: SetupTracingOptions = {}): TracingHandle {
  const env = options.env ?? process.env;
  const shared = sharedTracing();
  const serviceName = options.serviceName ?? defaultServiceName(env);
  const handles: ExporterHandle[] = [];
  for (const exporter of options.exporters ?? exportersFromEnvironment(env)) {
    handles.push(addSpanExporter(exporter, { batch: options.batch }));
  }

  let registeredHere = false;
  let contextManagerHere = false;
  let disableInstrumentations: (() => void) | undefined;
  if (shared.hostProvider === undefined) {
    const resource = buildResource(serviceName);
    if (!hasGlobalTracerProvider()) {
      shared.hostProvider = false;
      const provider = new NodeTracerProvider({
        resource,
        sampler: options.sampler,
        spanProcessors: [shared.fanOut],
      });
      provider.register();
      shared.resource = resource;
      shared.tracerProvider = provider;
      shared.registeredGlobally = true;
      registeredHere = true;
      if (options.instrumentations !== false) {
        disableInstrumentations = registerHostInstrumentations(
          provider,
          options.ignoreIncomingRequest ?? isUntracedRequest,
        );
        shared.disableInstrumentations = disableInstrumentations;
      }
    } else {
      shared.hostProvider = true;
      contextManagerHere = ensureContextManager();
      shared.resource = resource;
      shared.tracerProvider = new BasicTracerProvider({
        resource,
        sampler: options.sampler,
        spanProcessors: [shared.fanOut],
      });
    }
  }

  let stopped = false;
  return {
    get tracerProvider() {
      return sharedTracing().tracerProvider;
    },
    hostProvider: shared.hostProvider === true,
    flush: () => flushTracing(),
    droppedSpans,
    stats: tracingStats,
    async shutdown(shutdownOptions = {}) {
      if (stopped) return;
      stopped = true;
      await flushTracing(shutdownOptions.deadline);
      await Promise.allSettled(handles.map((handle) => handle.remove(shutdownOptions)));
      if (registeredHere) {
        disableInstrumentations?.();
        if (shared.disableInstrumentations === disableInstrumentations)
          shared.disableInstrumentations = undefined;
        // Give the process back as it was: llmux registered these globals, llmux removes them.
        trace.disable();
        propagation.disable();
        context.disable();
        shared.registeredGlobally = false;
      }
      if (contextManagerHere) context.disable();
      if (registeredHere || shared.hostProvider) {
        shared.hostProvider = undefined;
        shared.tracerProvider = new BasicTracerProvider({
          resource: shared.resource,
          spanProcessors: [shared.fanOut],
        });
      }
    },
  };
}
