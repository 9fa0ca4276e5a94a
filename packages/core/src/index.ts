/**
 * @llmux/core: configuration, providers, router and the framework-agnostic /v1 handler.
 * Adapters (@llmux/express, @llmux/koa, @llmux/nestjs) use only what this file exports.
 */
export { ConfigError, isConfigError } from "./config/config-error";
export { loadConfigFile, parseConfigYaml, resolveConfig, PROVIDERS } from "./config/load-config";
export type { Deployment, LlmuxConfig, ResolvedConfig, RouterSettings, RoutingStrategyName } from "./config/types";
export { LlmuxError, isLlmuxError, toLlmuxError, statusForKind } from "./errors/llmux-error";
export { classifyUpstreamFailure, parseRetryAfter } from "./errors/classify";
export { createGateway } from "./gateway/create-gateway";
export type { CallOutcome, Gateway, StreamOutcome } from "./gateway/create-gateway";
export type { AuthorizeResult, GatewayOptions } from "./gateway/types";
export type { CallInput } from "./gateway/call-run";
export { createConsoleLogger } from "./gateway/logger";
export { createHandler, json, sendError } from "./http/create-handler";
export type { LlmuxHandler } from "./http/create-handler";
export { openAiErrorBody, anthropicErrorBody } from "./http/error-body";
export { SseWriter } from "./http/sse-writer";
export { readJsonBody } from "./http/read-body";
export { hostParsedBody } from "./http/host-parsed-body";
export type { ChatCompletion, ChatRequest, ChatResult, EmbeddingRequest, EmbeddingResult, Provider, ProviderCall, StreamItem } from "./providers/types";
export { Router } from "./router/router";
export type { ActiveAttempt, RouteRequest, RouteResult, RouterOptions } from "./router/router";
export { MemoryRouterState, systemClock } from "./router/router-state";
export type { Clock, LatencyKind, RouterState } from "./router/router-state";
export { costBased, latencyBased, leastBusy, simpleShuffle, usageBased } from "./router/strategies";
export type { RoutingStrategy, StrategyContext } from "./router/strategies";
export { UpstreamClient } from "./upstream/upstream-client";
export { estimatePromptTokens, estimateTokens } from "./gateway/estimate-tokens";
