/**
 * Named sink factories, so configuration can name sinks (`litellm_settings.callbacks: [console]`)
 * and plugins can add their own.
 */
import type { ConsoleSinkOptions, JsonlSinkOptions, SinkFactory, SinkRegistry } from "./api-types";
import { consoleSink } from "./console-sink";
import { jsonlSink } from "./jsonl-sink";

class Registry implements SinkRegistry {
  private readonly factories = new Map<string, SinkFactory<unknown>>();

  register<Options>(name: string, factory: SinkFactory<Options>): SinkRegistry {
    if (typeof name !== "string" || name === "")
      throw new TypeError("sink registry: name must be a non-empty string");
    if (typeof factory !== "function")
      throw new TypeError(`sink registry: factory for "${name}" must be a function`);
    this.factories.set(name, factory as SinkFactory<unknown>);
    return this;
  }

  create(name: string, options: unknown = {}) {
    const factory = this.factories.get(name);
    if (factory === undefined) {
      const known = [...this.factories.keys()].join(", ") || "none";
      const error = new Error(`unknown callback sink "${name}" (known: ${known})`);
      Object.assign(error, { code: "unknown_sink", sink: name });
      throw error;
    }
    return factory(options);
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  names(): string[] {
    return [...this.factories.keys()];
  }
}

/** An empty registry. */
export function createSinkRegistry(): SinkRegistry {
  return new Registry();
}

/** The registry the gateway uses by default, pre-loaded with "console" and "jsonl". */
export const defaultSinkRegistry: SinkRegistry = createSinkRegistry()
  .register<ConsoleSinkOptions>("console", (options) => consoleSink(options))
  .register<JsonlSinkOptions>("jsonl", (options) => jsonlSink(options));
