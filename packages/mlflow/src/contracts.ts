/**
 * The shared llmux contracts this package uses (from @llmux/callbacks), re-exported in one place.
 */
export type {
  CallbackSink,
  CallEvent,
  LlmuxPlugin,
  Logger,
  PluginFactory,
  PluginFactoryContext,
} from "../../callbacks/src/types";
