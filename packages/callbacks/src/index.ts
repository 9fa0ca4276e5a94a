export type {
  BatchingSinkOptions,
  BatchingSinkStats,
  CallbackEngine,
  CallbackEngineOptions,
  CallRejection,
  ConsoleSinkOptions,
  JsonlSinkOptions,
  RejectCallOptions,
  RunHooksOptions,
  SecretScrubber,
  SinkFactory,
  SinkRegistry,
} from "./api-types";
export { BatchingSink } from "./batching-sink";
export { isCallRejection, rejectCall } from "./call-rejection";
export {
  createCallbackEngine,
  DEFAULT_ERROR_LOG_INTERVAL_MS,
  DEFAULT_HANDLER_TIMEOUT_MS,
  DEFAULT_QUEUE_SIZE,
} from "./callback-engine";
export { consoleSink, formatCallLine } from "./console-sink";
export { createDefaultLogger } from "./default-logger";
export {
  type ExportDropReason,
  ExportHealth,
  type ExportHealthOptions,
  type ExportHealthStats,
  type ExportSignal,
  exportHealth,
  exportHealthStats,
  resetExportHealth,
} from "./export-health";
export { jsonlSink } from "./jsonl-sink";
export { createSecretScrubber, REDACTED, redactEvent, scrubSecrets } from "./redaction";
export { runAfterCallHooks, runBeforeCallHooks } from "./request-hooks";
export { createSinkRegistry, defaultSinkRegistry } from "./sink-registry";
export type {
  AfterCallContext,
  AttemptEvent,
  AttemptRecord,
  AttemptTrace,
  BeforeCallContext,
  CallbackSink,
  CallContext,
  CallError,
  CallEvent,
  CallStartEvent,
  CallTimings,
  CallTrace,
  CallTracer,
  CallType,
  CooldownEvent,
  DeploymentRateLimits,
  DeploymentState,
  EngineStatsSource,
  ErrorKind,
  FallbackEvent,
  LlmuxPlugin,
  Logger,
  PluginAccess,
  PluginFactory,
  PluginFactoryContext,
  PluginResponseStore,
  PluginRoute,
  PluginSharedState,
  RequestHooks,
  RouteAccess,
  RouteAuth,
  SharedStateDeltaStats,
  SharedStateStatsSource,
  ShutdownOptions,
  SinkStats,
  StoredResponseRecord,
  StreamChunkEvent,
} from "./types";
export { untilDeadline } from "./until-deadline";
