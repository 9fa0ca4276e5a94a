/**
 * @llmux/core: configuration, providers, router and the framework-agnostic /v1 handler.
 * Adapters (@llmux/express, @llmux/koa, @llmux/nestjs) use only what this file exports.
 */
export { chatToMessagesRequest } from "./anthropic-format/chat-to-messages-request";
export { completionToMessage } from "./anthropic-format/completion-to-message";
export { messageToCompletion } from "./anthropic-format/message-to-completion";
export { messagesToChatRequest } from "./anthropic-format/messages-to-chat-request";
export type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicRequest,
  AnthropicStreamEvent,
  AnthropicUsage,
  MessagesResult,
  MessagesStreamItem,
  NativeMessagesOptions,
  NativeMessagesProvider,
} from "./anthropic-format/types";
export { isNativeMessagesProvider } from "./anthropic-format/types";
export { type CacheSettings, resolveCacheSettings } from "./cache/cache-settings";
export { type CacheStore, MemoryCacheStore } from "./cache/cache-store";
export {
  type CachedCallType,
  type CacheEntry,
  type CachePlan,
  canonicalJson,
  ResponseCache,
  type ResponseCacheOptions,
} from "./cache/response-cache";
export { ConfigError, isConfigError } from "./config/config-error";
export { loadConfigFile, PROVIDERS, parseConfigYaml, resolveConfig } from "./config/load-config";
/** The config keys llmux knows per section (for did-you-mean suggestions, `llmux check`). */
export { KNOWN_KEYS as KNOWN_CONFIG_KEYS } from "./config/schema";
export type {
  Deployment,
  LlmuxConfig,
  ResolvedConfig,
  RouterSettings,
  RoutingStrategyName,
} from "./config/types";
export {
  classifyStreamError,
  classifyUpstreamFailure,
  kindForErrorType,
  parseRetryAfter,
} from "./errors/classify";
export { isLlmuxError, LlmuxError, statusForKind, toLlmuxError } from "./errors/llmux-error";
export type { CallInput } from "./gateway/call-run";
export type { CallOutcome, Gateway, ShutdownPlan, StreamOutcome } from "./gateway/create-gateway";
export { createGateway } from "./gateway/create-gateway";
export { estimatePromptTokens, estimateTokens } from "./gateway/estimate-tokens";
export {
  type ChatCompletionChunk,
  type ChatCompletionStream,
  callInfo,
  createGatewayClient,
  type EmbeddingsResponse,
  type GatewayCallInfo,
  type GatewayCallOptions,
  type GatewayClient,
  type MessageStream,
  type MessagesCallOptions,
} from "./gateway/in-process-api";
export { createConsoleLogger } from "./gateway/logger";
export type { MessagesCalls, MessagesOutcome, MessagesStreamOutcome } from "./gateway/messages-call";
export { ALL_PROXY_MODELS, modelAllowed } from "./gateway/model-access";
export { CREDENTIAL_KEYS } from "./gateway/request-params";
export {
  onShutdownSignals,
  type ShutdownSignalOptions,
  type StopPlan,
  stopPlan,
} from "./gateway/shutdown-signals";
export type { AuthorizeResult, GatewayOptions } from "./gateway/types";
export { authenticateRequest } from "./http/authenticate";
export { closeGracefully } from "./http/close-gracefully";
export type { LlmuxHandler } from "./http/create-handler";
export { createHandler, json, sendError } from "./http/create-handler";
export { createDashboardHandler, type DashboardHandler } from "./http/dashboard-handler";
export { anthropicErrorBody, openAiErrorBody } from "./http/error-body";
export { hostParsedBody } from "./http/host-parsed-body";
export { bodyParserFailure } from "./http/node-middleware";
export { readJsonBody } from "./http/read-body";
export { SseWriter } from "./http/sse-writer";
export { createAnthropicProvider } from "./providers/anthropic/anthropic-provider";
export { createAzureProvider } from "./providers/azure/azure-provider";
export { createBedrockProvider } from "./providers/bedrock/bedrock-provider";
export { createOllamaProvider } from "./providers/ollama/ollama-provider";
export type {
  ChatCompletion,
  ChatRequest,
  ChatResult,
  EmbeddingRequest,
  EmbeddingResult,
  Provider,
  ProviderCall,
  StreamItem,
} from "./providers/types";
export type { ActiveAttempt, RouteRequest, RouteResult, RouterOptions } from "./router/router";
export { Router } from "./router/router";
export type { Clock, LatencyKind, RouterState } from "./router/router-state";
export { MemoryRouterState, systemClock } from "./router/router-state";
export type { RoutingStrategy, StrategyContext } from "./router/strategies";
export { costBased, latencyBased, leastBusy, simpleShuffle, usageBased } from "./router/strategies";
export { MemorySharedState } from "./state/memory-shared-state";
export { describeRedis, type RedisSettings, resolveRedisSettings } from "./state/redis-settings";
export { SharedRouterState, type SharedRouterStateOptions } from "./state/shared-router-state";
export type {
  FailurePolicy,
  FailureResult,
  SharedDelta,
  SharedState,
  SharedStateHealth,
  TakeResult,
  WindowResult,
} from "./state/shared-state";
export {
  type ContractTestApi,
  type ManualClock,
  manualClock,
  sharedStateContract,
} from "./state/shared-state-contract";
export { type FallbackOptions, FallbackSharedState, withFallback } from "./state/with-fallback";
export type { Environment } from "./telemetry/environment-telemetry";
export {
  addTelemetryCallbacks,
  startHostTracing,
  telemetryCallbacks,
} from "./telemetry/environment-telemetry";
export type { ServeFromEnvironmentOptions } from "./telemetry/serve-from-environment";
export { serveFromEnvironment } from "./telemetry/serve-from-environment";
export { UpstreamClient } from "./upstream/upstream-client";
