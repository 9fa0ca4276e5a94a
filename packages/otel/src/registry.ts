/**
 * The process-wide tracing state llmux shares between its plugins (otel, langfuse_otel, mlflow):
 * ONE provider, ONE call tracer, and a run-time list of exporters, each behind its own bounded
 * batch processor. Kept on globalThis (by Symbol.for) so an ESM and a CJS copy of this package
 * loaded in the same process still share it.
 *
 * When the host has its own global tracer provider, llmux does not touch it: llmux's spans go
 * through a llmux-owned provider (not registered globally) whose only span processor is a
 * fan-out over llmux's exporters. Parenting still works because spans are started with the
 * host's active context (the host's context manager), so a llmux call span is a child of the
 * host's HTTP span; the host's own exporters keep receiving the host's spans. When no host
 * provider exists, setupTracing registers a NodeTracerProvider built over the same fan-out.
 */
import { type Logger, untilDeadline } from "@llmux/callbacks";
import { type Tracer, type TracerProvider, trace } from "@opentelemetry/api";
import {
  detectResources,
  envDetector,
  type Resource,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import { BasicTracerProvider, type Span, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { LANGFUSE_ENVIRONMENT, LANGFUSE_RELEASE } from "./attributes";
import { BoundedBatchSpanProcessor } from "./bounded-batch-processor";
import { buildDeferredCallTracer, type DeferredCallTracer } from "./deferred-call-tracer";
import { LANGFUSE_OTEL_PATH } from "./exporters";
import { FanOutSpanProcessor } from "./fan-out-processor";
import type { BatchOptions, Environment, ExporterStats, LlmuxCallTracer } from "./types";
import { TRACER_NAME, TRACER_VERSION } from "./version";

/** Where an exporter's spans end up: a known vendor, or anywhere (a collector, a custom exporter). */
type ExporterDestination = "langfuse" | "mlflow" | "other";

interface ExporterEntry {
  key: string;
  processor: BoundedBatchSpanProcessor;
  users: number;
  destination: ExporterDestination;
}

export interface SharedTracing {
  readonly fanOut: FanOutSpanProcessor;
  resource: Resource;
  /** The provider llmux's spans go through (llmux-owned, or the one setupTracing registered). */
  tracerProvider: TracerProvider & { getTracer(name: string, version?: string): Tracer };
  /** true once setupTracing registered llmux's provider as the global one. */
  registeredGlobally: boolean;
  /** Set by setupTracing: whether a host provider was found. */
  hostProvider: boolean | undefined;
  exporters: Map<string, ExporterEntry>;
  /** The shared call tracer: records on the request path, spans built in batches (telemetry as data). */
  callTracer: DeferredCallTracer | undefined;
  contentDenied: boolean;
  contentAllowed: boolean;
  disableInstrumentations: (() => void) | undefined;
  anonymousExporters: number;
}

const REGISTRY_KEY = Symbol.for("llmux.otel.shared-tracing");

export function defaultServiceName(env: Environment): string {
  return env.OTEL_SERVICE_NAME?.trim() || "llmux";
}

export function buildResource(serviceName: string): Resource {
  // envDetector adds OTEL_RESOURCE_ATTRIBUTES; the explicit service name wins.
  return detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({ "service.name": serviceName }),
  );
}

/**
 * Puts `langfuse.environment` and `langfuse.release` on every span that starts in llmux's provider
 * (the host's HTTP SERVER span when setupTracing registered it, Express/Koa/Nest spans), when
 * Langfuse keys are written: Langfuse takes a trace's environment from its earliest span, the root,
 * and would file the whole trace under "default" otherwise. llmux's own call and attempt spans
 * carry them already (they are built from records, not started here).
 */
function stampTraceLabels(span: Span): void {
  const settings = sharedTracing().callTracer?.settings;
  if (!settings?.vendors.langfuse) return;
  if (settings.environment) span.setAttribute(LANGFUSE_ENVIRONMENT, settings.environment);
  if (settings.release) span.setAttribute(LANGFUSE_RELEASE, settings.release);
}

function createShared(): SharedTracing {
  const fanOut = new FanOutSpanProcessor(stampTraceLabels);
  const resource = buildResource(defaultServiceName(process.env));
  return {
    fanOut,
    resource,
    tracerProvider: new BasicTracerProvider({ resource, spanProcessors: [fanOut] }),
    registeredGlobally: false,
    hostProvider: undefined,
    exporters: new Map(),
    callTracer: undefined,
    contentDenied: false,
    contentAllowed: false,
    disableInstrumentations: undefined,
    anonymousExporters: 0,
  };
}

export function sharedTracing(): SharedTracing {
  const holder = globalThis as unknown as Record<symbol, SharedTracing | undefined>;
  let shared = holder[REGISTRY_KEY];
  if (!shared) {
    shared = createShared();
    holder[REGISTRY_KEY] = shared;
  }
  return shared;
}

export interface AddSpanExporterOptions {
  /** Name in stats (default the exporter's class name). */
  name?: string;
  /**
   * Deduplication key: a second exporter with the same key is not added (it is shut down) and
   * the first one gains a user; `remove()` shuts it down when its last user removes it.
   */
  key?: string;
  batch?: BatchOptions;
  /** Where the exporter's outage, recovery and shutdown-loss lines go (default: stderr). */
  logger?: Logger;
}

export interface ExporterHandle {
  readonly name: string;
  /** false when an exporter with the same key was already there and is used instead. */
  readonly added: boolean;
  stats(): ExporterStats;
  flush(): Promise<void>;
  /**
   * Flushes and shuts the exporter down once every user of its key has removed it. With
   * `options.deadline` (epoch ms) it resolves by then (what is lost is counted and logged).
   */
  remove(options?: { deadline?: number }): Promise<void>;
}

/**
 * Langfuse's exporter (or any OTLP exporter aimed at Langfuse's OTLP path) and the MLflow bridge's
 * (added with an `mlflow:` key) are known; anything else may forward to either.
 */
function destinationOf(name: string, key: string, url: unknown): ExporterDestination {
  if (key.startsWith("mlflow:")) return "mlflow";
  if (name === "langfuse" || (typeof url === "string" && url.endsWith(LANGFUSE_OTEL_PATH))) return "langfuse";
  return "other";
}

/**
 * Points the shared call tracer's vendor keys at the registered exporters: `langfuse.*` only when
 * some exporter may reach Langfuse, `mlflow.*` only when some may reach MLflow. With no exporter
 * registered (nothing known yet) both are written.
 */
function followExporters(shared: SharedTracing): void {
  const vendors = shared.callTracer?.settings.vendors;
  if (!vendors) return;
  let langfuse = shared.exporters.size === 0;
  let mlflow = langfuse;
  for (const entry of shared.exporters.values()) {
    if (entry.destination !== "mlflow") langfuse = true;
    if (entry.destination !== "langfuse") mlflow = true;
  }
  vendors.langfuse = langfuse;
  vendors.mlflow = mlflow;
}

/**
 * Adds an exporter to llmux's shared provider, behind a bounded batch processor (2048 spans,
 * counted drops). Spans of every call tracer obtained from getSharedCallTracer() reach it.
 */
export function addSpanExporter(
  exporter: SpanExporter,
  options: AddSpanExporterOptions = {},
): ExporterHandle {
  const shared = sharedTracing();
  // calls that ended before this exporter joined go to the exporters there were (as live spans did)
  shared.callTracer?.drain();
  const described = exporter as SpanExporter & { name?: unknown; url?: unknown };
  const name =
    options.name ??
    (typeof described.name === "string" ? described.name : exporter.constructor?.name) ??
    "exporter";
  // llmux's own exporters are keyed by name and endpoint, so setupTracing() and a plugin that
  // both add Langfuse share one exporter instead of sending every span twice.
  const key =
    options.key ??
    (typeof described.url === "string"
      ? `${name}:${described.url}`
      : `anonymous:${++shared.anonymousExporters}`);
  const existing = shared.exporters.get(key);
  let entry: ExporterEntry;
  let added: boolean;
  if (existing) {
    existing.users++;
    entry = existing;
    if (options.logger && !existing.processor.health.logger)
      existing.processor.health.logger = options.logger;
    added = false;
    if (existing.processor.exporter !== exporter) {
      exporter.shutdown().catch(() => undefined);
    }
  } else {
    entry = {
      key,
      processor: new BoundedBatchSpanProcessor(exporter, name, options.batch, options.logger),
      users: 1,
      destination: destinationOf(name, key, described.url),
    };
    shared.exporters.set(key, entry);
    shared.fanOut.add(entry.processor);
    followExporters(shared);
    added = true;
  }
  let removed = false;
  return {
    name: entry.processor.name,
    added,
    stats: () => entry.processor.stats(),
    flush: () => {
      shared.callTracer?.drain();
      return entry.processor.forceFlush();
    },
    async remove(removeOptions = {}) {
      if (removed) return;
      removed = true;
      shared.callTracer?.drain();
      entry.users--;
      if (entry.users > 0) {
        // another user keeps the exporter: flush (bounded), its last user shuts it down
        await entry.processor.flushUntil(removeOptions.deadline);
        return;
      }
      if (shared.exporters.get(entry.key) === entry) shared.exporters.delete(entry.key);
      shared.fanOut.remove(entry.processor);
      followExporters(shared);
      await entry.processor.shutdown(removeOptions);
    },
  };
}

/**
 * true when every processor of the fan-out is an exporter entry whose exporter encodes spans with
 * llmux's OTLP/protobuf encoder (it reads a span's `encodedSpan` and nothing else of a record's).
 */
function onlyProtobufExporters(shared: SharedTracing): boolean {
  const processors = shared.fanOut.list();
  if (processors.length === 0 || processors.length !== shared.exporters.size) return false;
  for (const entry of shared.exporters.values()) {
    const exporter = entry.processor.exporter as SpanExporter & { readsEncodedSpans?: unknown };
    if (exporter.readsEncodedSpans !== true || !processors.includes(entry.processor)) return false;
  }
  return true;
}

let tracerOf: { provider: SharedTracing["tracerProvider"]; tracer: Tracer } | undefined;

/**
 * llmux's tracer on the shared provider, asked of the provider again only when the provider was
 * replaced (setupTracing): the SDK's getTracer builds a key string and looks it up on every call,
 * and the call tracer asks for it on every call and every drain.
 */
function sharedTracer(): Tracer {
  const provider = sharedTracing().tracerProvider;
  if (tracerOf?.provider !== provider) {
    tracerOf = { provider, tracer: provider.getTracer(TRACER_NAME, TRACER_VERSION) };
  }
  return tracerOf.tracer;
}

export interface SharedCallTracerOptions {
  /** false from any caller turns content capture off for everyone (privacy wins). */
  captureContent?: boolean;
  environment?: string;
  release?: string;
}

/**
 * The one call tracer every llmux plugin returns, over llmux's shared provider. Options merge:
 * content is captured only if some caller asked for it and none refused; the first environment
 * and release given are kept.
 */
export function getSharedCallTracer(options: SharedCallTracerOptions = {}): LlmuxCallTracer {
  const shared = sharedTracing();
  if (options.captureContent === false) shared.contentDenied = true;
  if (options.captureContent === true) shared.contentAllowed = true;
  if (!shared.callTracer) {
    // llmux's own pipeline (its provider's only processor is the fan-out to llmux's exporters):
    // ids and the sampling decision on the request path, spans built from records in batches
    shared.callTracer = buildDeferredCallTracer(
      { captureContent: false, vendors: { langfuse: true, mlflow: true } },
      {
        getTracer: sharedTracer,
        onEnd: (span) => sharedTracing().fanOut.onEnd(span),
        hasConsumers: () => sharedTracing().fanOut.list().length > 0,
        encodeAtDrain: () => onlyProtobufExporters(sharedTracing()),
      },
    );
    followExporters(shared);
  }
  const settings = shared.callTracer.settings;
  settings.captureContent = shared.contentAllowed && !shared.contentDenied;
  if (settings.environment === undefined && options.environment) settings.environment = options.environment;
  if (settings.release === undefined && options.release) settings.release = options.release;
  return shared.callTracer;
}

/** The Langfuse environment and release of the shared call tracer (also stamped on every span). */
export function sharedTraceLabels(): { environment?: string; release?: string } {
  const settings = sharedTracing().callTracer?.settings;
  return { environment: settings?.environment, release: settings?.release };
}

/** Spans dropped so far by llmux's shared exporters (queue full, or lost in failed exports). */
export function droppedSpans(): number {
  const shared = sharedTracing();
  let total = shared.callTracer?.dropped() ?? 0;
  for (const entry of shared.exporters.values()) total += entry.processor.dropped();
  return total;
}

/** Delivery counts of every shared exporter. */
export function tracingStats(): ExporterStats[] {
  return [...sharedTracing().exporters.values()].map((entry) => entry.processor.stats());
}

/** Sends what the shared exporters hold; with a deadline (epoch ms), stops waiting then. */
export async function flushTracing(deadline?: number): Promise<void> {
  const shared = sharedTracing();
  shared.callTracer?.drain();
  await untilDeadline(shared.fanOut.forceFlush(), deadline);
}

/** true when something other than the no-op provider is registered as the global tracer provider. */
export function hasGlobalTracerProvider(): boolean {
  const global = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  const delegate = typeof global.getDelegate === "function" ? global.getDelegate() : global;
  return delegate.constructor?.name !== "NoopTracerProvider";
}

/**
 * Test helper: shuts every shared exporter down and forgets the shared state (global
 * registrations made by setupTracing are undone by its handle's shutdown()).
 */
export async function resetSharedTracing(): Promise<void> {
  const holder = globalThis as unknown as Record<symbol, SharedTracing | undefined>;
  const shared = holder[REGISTRY_KEY];
  holder[REGISTRY_KEY] = undefined;
  if (!shared) return;
  shared.disableInstrumentations?.();
  shared.callTracer?.drain();
  await shared.fanOut.shutdown();
}
