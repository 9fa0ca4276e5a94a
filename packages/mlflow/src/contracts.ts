/**
 * The shared llmux contracts this package uses (from @llmux/callbacks), re-exported in one place.
 */
export type {
  BatchingSinkStats,
  CallbackSink,
  CallEvent,
  LlmuxPlugin,
  Logger,
  PluginFactory,
  PluginFactoryContext,
} from "@llmux/callbacks";
