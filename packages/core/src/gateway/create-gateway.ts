import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import {
  type BeforeCallContext,
  type CallbackEngine,
  type CallEvent,
  type CallTracer,
  createCallbackEngine,
  createSecretScrubber,
  type DeploymentRateLimits,
  type LlmuxPlugin,
  type PluginRoute,
  type RequestHooks,
  type ShutdownOptions,
  untilDeadline,
} from "@llmux/callbacks";
import { type CostBreakdown, createPricing, type Pricing, type Usage } from "@llmux/pricing";
import { resolveCacheSettings } from "../cache/cache-settings";
import { type CacheStore, MemoryCacheStore } from "../cache/cache-store";
import { hitBody } from "../cache/hit-body";
import { type CachedCallType, type CacheEntry, type CachePlan, ResponseCache } from "../cache/response-cache";
import { loadConfigFile, resolveConfig } from "../config/load-config";
import type { Deployment, LlmuxConfig, ResolvedConfig } from "../config/types";
import { LlmuxError, toLlmuxError } from "../errors/llmux-error";
import { createProviderRegistry } from "../providers/registry";
import type {
  ChatCompletion,
  ChatRequest,
  EmbeddingRequest,
  Provider,
  ProviderCall,
  StreamItem,
} from "../providers/types";
import { ResponseStorage } from "../responses-format/response-storage";
import { MemoryResponseStore } from "../responses-format/response-store";
import { type ActiveAttempt, Router, safeOrigin } from "../router/router";
import { MemorySharedState } from "../state/memory-shared-state";
import { describeRedis } from "../state/redis-settings";
import { SharedRouterState } from "../state/shared-router-state";
import type { SharedState, SharedStateHealth } from "../state/shared-state";
import { withFallback } from "../state/with-fallback";
import { remainingRateLimits } from "../telemetry/rate-limit-headers";
import { encodingForModel, loadTokenizer } from "../tokens/tokenizer";
import { UpstreamClient } from "../upstream/upstream-client";
import { replayCached, replayedSse, replayStreamItems } from "./cache-replay";
import { type CallInput, CallRun, type CallSuccess } from "./call-run";
import { copyWithout } from "./copy-with";
import { paramsForDeployment } from "./drop-params";
import { estimatePromptTokens, estimateTokens } from "./estimate-tokens";
import type { GatewayInternals } from "./gateway-internals";
import { importOptional } from "./import-optional";
import { isThenable } from "./is-thenable";
import { HitOutcome, StreamOutcomeView } from "./lazy-members";
import { loadConfiguredPlugins } from "./load-plugins";
import { createConsoleLogger } from "./logger";
import { createMessagesCalls, type MessagesCalls } from "./messages-call";
import { modelAllowed } from "./model-access";
import { type AbortSource, AttemptCall } from "./provider-call";
import { CREDENTIAL_KEYS, upstreamBody } from "./request-params";
import { createResponsesCalls, type ResponsesCalls } from "./responses-call";
import { ProducedText, StreamAssembler } from "./stream-assembler";
import { driveStream, readFirstItem } from "./stream-driver";
import type { GatewayOptions } from "./types";
import { UsageWithCostItem } from "./usage-with-cost";

export interface CallOutcome<T> {
  body: T;
  /** The upstream's JSON text of `body`, when it can be sent unchanged (saves re-serialising). */
  raw?: string;
  headers: Record<string, string>;
  event?: CallEvent;
}

export interface StreamOutcome {
  headers: Record<string, string>;
  /**
   * The OpenAI-format chunks of the next upstream read (one promise per read; possibly none), or
   * undefined at the end; usage chunk only when asked. Rejects with a LlmuxError mid-stream.
   */
  nextBatch(): Promise<StreamItem[] | undefined>;
  /** The same chunks one at a time (use one of the two). */
  chunks: AsyncGenerator<StreamItem>;
  /** Abandons the stream, also before its first chunk was taken: releases the attempt and the upstream. */
  cancel(): Promise<void>;
  /** Trailers to send after the last chunk (`x-llmux-response-cost`, once priced); see sse-writer. */
  trailers?(): Record<string, string>;
  /**
   * A cache hit: the chat route's whole SSE body (every chunk and `data: [DONE]`), known before anything
   * is written, so it can be sent in one write; `served()` then records the hit (instead of reading the
   * chunks). A consumer that reads the chunks ignores it.
   */
  whole?: { sse: string; served(): void };
}

export interface Gateway extends GatewayInternals, MessagesCalls, ResponsesCalls {
  /** Resolves when the configured plugins are loaded; rejects with the start-up error. */
  readonly ready: Promise<void>;
  /** Whether `ready` has resolved (so a request need not wait for it). */
  isReady(): boolean;
  readonly options: GatewayOptions;
  /**
   * The store shared by instances (rpm/tpm/parallel/budget counters, cooldowns): Redis when configured,
   * else in-process. Read it at call time: it may be replaced once `ready` resolves (Redis loaded).
   */
  readonly sharedState: SharedState;
  /** The response cache (litellm_settings.cache), when on; a Redis one exists once `ready` resolved. */
  readonly responseCache: ResponseCache | undefined;
  /** Stored Responses API responses (previous_response_id, GET/DELETE /v1/responses/{id}). */
  readonly storedResponses: ResponseStorage;
  /** Routes added by plugins (e.g. GET /metrics, POST /feedback). */
  routes(): PluginRoute[];
  /**
   * Paths an adapter mounted under a prefix also serves at the host's root: health and the plugin
   * routes marked `root` (e.g. /metrics). Complete once `ready` resolved.
   */
  rootPaths(): string[];
  plugins(): readonly LlmuxPlugin[];
  /** Adds a plugin after creation (the dashboard registers its sink when it is first mounted). */
  addPlugin(plugin: LlmuxPlugin): void;
  newCallId(): string;
  runBeforeCall(context: BeforeCallContext): Promise<Record<string, unknown>>;
  /** runBeforeCall without a promise when every hook answered synchronously (the request path's). */
  beforeCall(context: BeforeCallContext): Record<string, unknown> | Promise<Record<string, unknown>>;
  chat(input: CallInput): Promise<CallOutcome<ChatCompletion>>;
  chatStream(input: CallInput): Promise<StreamOutcome>;
  embeddings(input: CallInput): Promise<CallOutcome<Record<string, unknown>>>;
  /** Model groups (and aliases) a caller may use. */
  models(
    allowed?: readonly string[],
  ): Array<{ id: string; object: "model"; created: number; owned_by: string }>;
  readiness(): {
    status: "healthy" | "degraded";
    deployments: number;
    cooling: Array<{ model_group: string; deployment: string; until: string }>;
  };
  flush(): Promise<void>;
  /**
   * Starts a graceful stop (call it when the host stops accepting connections): streams still running
   * after `graceMs` are ended with an in-band error (503 `gateway_shutting_down`) instead of being cut,
   * and a later `shutdown()` without a deadline of its own flushes by `deadline`. Idempotent.
   */
  beginShutdown(plan?: ShutdownPlan): void;
  /** Ends every running stream now with an in-band error; returns how many there were. */
  endStreams(message?: string): number;
  /**
   * Drains the callback queues, flushes sinks and span exporters, closes the upstream pool. With a
   * `deadline` (epoch ms; or the one given to beginShutdown) it resolves by then: what was not
   * delivered is counted as dropped and logged per exporter and sink, with the reason.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

export interface ShutdownPlan {
  /** Milliseconds running streams get to finish before they are ended in-band. Default: no limit. */
  graceMs?: number;
  /** Epoch milliseconds by which shutdown() has flushed telemetry, delivered or not. */
  deadline?: number;
}

/**
 * Builds a gateway from a config: router, providers, pricing, callback engine and plugins. The HTTP
 * handler, the framework adapters and the in-process API are all thin layers over it.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createConsoleLogger();
  const config: ResolvedConfig = isResolved(options.config)
    ? options.config
    : typeof options.config === "string"
      ? loadConfigFile(options.config, { env, warn: (message) => logger.warn(message) })
      : resolveConfig(options.config as LlmuxConfig, { env, warn: (message) => logger.warn(message) });

  const secrets = [
    config.masterKey,
    ...config.deployments.flatMap((deployment) => [
      deployment.apiKey,
      deployment.params.aws_secret_access_key,
      deployment.params.aws_session_token,
      deployment.params.azure_ad_token,
    ]),
  ].filter((secret): secret is string => typeof secret === "string");
  const scrubValue = createSecretScrubber(secrets);
  const scrub = (text: string): string => scrubValue(text);
  const pricing: Pricing = options.pricing ?? createPricing({ logger });
  const engine: CallbackEngine = createCallbackEngine({ sinks: options.sinks ?? [], logger, secrets });
  // Whether anything consumes events; kept as a count so the request path does not ask the engine.
  let sinkCount = options.sinks?.length ?? 0;
  const providerFor = createProviderRegistry(options.providers);
  const plugins: LlmuxPlugin[] = [];
  const deploymentsById = new Map(config.deployments.map((deployment) => [deployment.id, deployment]));
  const http = new UpstreamClient({
    scrub,
    // Upstream rate-limit headers -> plugins (LiteLLM's litellm_remaining_requests_metric / _tokens_metric).
    observeHeaders: (request, headers) => {
      if (!plugins.some((plugin) => plugin.onDeploymentRateLimits)) return;
      const remaining = remainingRateLimits(headers);
      const deployment = deploymentsById.get(request.deploymentId);
      if (!remaining || !deployment) return;
      const limits: DeploymentRateLimits = {
        modelGroup: deployment.modelGroup,
        deploymentId: deployment.id,
        provider: deployment.provider,
        model: deployment.model,
        ...remaining,
      };
      if (deployment.apiBase) limits.apiBase = safeOrigin(deployment.apiBase);
      for (const plugin of plugins) {
        try {
          plugin.onDeploymentRateLimits?.(limits);
        } catch (error) {
          logger.warn("plugin onDeploymentRateLimits failed", { plugin: plugin.name, error: String(error) });
        }
      }
    },
  });
  const tracers: CallTracer[] = [];
  /** Streams running now, each with the function that ends it in-band (graceful stop). */
  const runningStreams = new Set<(error: LlmuxError) => void>();
  let shutdownPlan: (ShutdownPlan & { graceTimer?: NodeJS.Timeout }) | undefined;
  const trackStream = (end: (error: LlmuxError) => void): (() => void) => {
    runningStreams.add(end);
    return () => void runningStreams.delete(end);
  };
  // A copy: plugins add their hooks (after the host's own) without touching options.hooks.
  const hooks: RequestHooks[] = [...(options.hooks ?? [])];
  const afterCallHooks = hooks
    .map((hook) => hook.afterCall)
    .filter((hook): hook is NonNullable<RequestHooks["afterCall"]> => !!hook);
  const beforeCallHooks = hooks
    .map((hook) => hook.beforeCall?.bind(hook))
    .filter((hook): hook is NonNullable<RequestHooks["beforeCall"]> => !!hook);
  /** The rest of the beforeCall hooks once one answered with a promise. */
  const beforeCallRest = async (
    context: BeforeCallContext,
    body: Record<string, unknown>,
    pending: PromiseLike<unknown>,
    next: number,
  ): Promise<Record<string, unknown>> => {
    let replaced = await pending;
    if (replaced && typeof replaced === "object") body = replaced as Record<string, unknown>;
    for (let index = next; index < beforeCallHooks.length; index++) {
      replaced = await beforeCallHooks[index]!({ ...context, body });
      if (replaced && typeof replaced === "object") body = replaced as Record<string, unknown>;
    }
    return body;
  };
  const afterCallFailed = (error: unknown) =>
    logger.warn("afterCall hook failed", { error: scrub(String(error)) });
  /** After-call hooks that read content (not those that declare `afterCallReadsContent: false`). */
  let contentHooks = hooks.filter((hook) => hook.afterCall && hook.afterCallReadsContent !== false).length;

  const addPlugin = (plugin: LlmuxPlugin) => {
    plugins.push(plugin);
    if (plugin.sink) {
      engine.add(plugin.sink);
      sinkCount++;
    }
    if (plugin.tracer && !tracers.includes(plugin.tracer)) tracers.push(plugin.tracer);
    if (plugin.hooks) {
      hooks.push(plugin.hooks);
      if (plugin.hooks.beforeCall) beforeCallHooks.push(plugin.hooks.beforeCall.bind(plugin.hooks));
      if (plugin.hooks.afterCall) afterCallHooks.push(plugin.hooks.afterCall);
      if (plugin.hooks.afterCall && plugin.hooks.afterCallReadsContent !== false) contentHooks++;
    }
    plugin.observeEngine?.(engine);
    plugin.observeSharedState?.(sharedStateStats);
  };

  // Shared state: the host's store, Redis when configured (loaded by name before `ready`), else in process.
  const localState = new MemorySharedState(options.clock);
  let sharedState: SharedState = options.sharedState ?? localState;
  let sharedStateErrors = 0;
  const sharedStateStats = {
    stats: () => ({
      store: config.redis && !options.sharedState ? "redis" : sharedState.kind,
      errors: sharedStateErrors,
      degraded: (sharedState as Partial<SharedStateHealth>).degraded === true,
      // the router's local-first delta sync, when the router shares its state (declared below; read at scrape time)
      ...(sharedRouterState ? { deltas: sharedRouterState.deltaStats } : {}),
    }),
  };
  const sharedRouterState =
    !options.routerState && (options.sharedState || config.redis)
      ? new SharedRouterState({
          deploymentIds: config.deployments.map((deployment) => deployment.id),
          allowedFails: config.router.allowedFails,
          cooldownMs: config.router.cooldownTimeMs,
          ...(config.redis ? { syncIntervalMs: config.redis.syncIntervalMs } : {}),
          ...(options.clock ? { clock: options.clock } : {}),
          onRemoteCooldown: (deploymentId, until) => {
            const deployment = config.deployments.find((candidate) => candidate.id === deploymentId);
            if (!deployment) return;
            for (const plugin of plugins) {
              plugin.onDeploymentState?.({
                modelGroup: deployment.modelGroup,
                deploymentId,
                provider: deployment.provider,
                model: deployment.model,
                state: "cooling",
                until,
              });
            }
          },
        })
      : undefined;
  if (sharedRouterState && options.sharedState) sharedRouterState.attach(options.sharedState);
  // Response cache: litellm_settings.cache + cache_params; in-process LRU unless type is redis.
  const cacheSettings = resolveCacheSettings(config.litellmSettings, config.redis, env);
  const newResponseCache = (store: CacheStore) =>
    new ResponseCache({
      store,
      ttlMs: cacheSettings!.ttlMs,
      ...(cacheSettings!.namespace ? { namespace: cacheSettings!.namespace } : {}),
      ...(cacheSettings!.callTypes ? { callTypes: cacheSettings!.callTypes } : {}),
      ...(cacheSettings!.redis ? { timeoutMs: cacheSettings!.redis.timeoutMs } : {}),
      logger,
      // counted with the shared state's errors (llmux_shared_state_errors_total): the same Redis, usually
      onError: () => {
        sharedStateErrors++;
      },
    });
  let responseCache: ResponseCache | undefined =
    cacheSettings?.type === "local"
      ? newResponseCache(new MemoryCacheStore({ maxEntries: cacheSettings.maxEntries }))
      : undefined;

  type RedisModule = {
    connectRedis: (options: Record<string, unknown>) => Promise<{
      state: SharedState;
      cacheStore(namespace?: string): CacheStore;
      close(): Promise<void>;
    }>;
  };
  const loadRedis = async (settings: NonNullable<typeof config.redis>): Promise<RedisModule> => {
    try {
      return await importOptional<RedisModule>("@llmux/redis");
    } catch (error) {
      throw new Error(
        `Redis is configured (${describeRedis(settings)}) and needs the package @llmux/redis: npm install @llmux/redis (${(error as Error).message})`,
      );
    }
  };
  const connectSharedState = async (): Promise<void> => {
    const settings = config.redis;
    let connection: Awaited<ReturnType<RedisModule["connectRedis"]>> | undefined;
    if (settings && !options.sharedState) {
      connection = await (await loadRedis(settings)).connectRedis({
        settings,
        ...(options.clock ? { clock: options.clock } : {}),
      });
    }
    if (cacheSettings?.type === "redis" && cacheSettings.redis) {
      // the cache shares the state's connection when both name the same Redis
      const cacheConnection =
        connection && cacheSettings.redis === config.redis
          ? connection
          : await (await loadRedis(cacheSettings.redis)).connectRedis({ settings: cacheSettings.redis });
      const store = cacheConnection.cacheStore();
      responseCache = newResponseCache(
        cacheConnection === connection
          ? store
          : {
              kind: store.kind,
              get: store.get.bind(store),
              set: store.set.bind(store),
              delete: store.delete.bind(store),
              close: () => cacheConnection.close(),
            },
      );
      logger.info(`response cache on ${describeRedis(cacheSettings.redis)}`);
    }
    if (!settings || options.sharedState || !connection) return;
    const fallback = withFallback(connection.state, localState, {
      timeoutMs: settings.timeoutMs,
      logger,
      onError: () => {
        sharedStateErrors++;
      },
    });
    sharedState = fallback;
    // the router's writes and sync run in the background: no call waits on them
    sharedRouterState?.attach(fallback, fallback.withTimeout(1_000));
    logger.info(`shared state on ${describeRedis(settings)} (prefix '${settings.prefix}')`);
  };

  /** What the wildcard groups can serve (from the price files' model lists), computed on first use. */
  let wildcardNames: string[] | undefined;
  /** Context windows from the price files, by deployment id (0 = unknown). */
  const contextWindows = new Map<string, number>();
  const router = new Router({
    deployments: config.deployments,
    settings: config.router,
    ...(options.routerState
      ? { state: options.routerState }
      : sharedRouterState
        ? { state: sharedRouterState }
        : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.strategy ? { strategy: options.strategy } : {}),
    expectedCost: (deployment, inputTokens, outputTokens) => {
      const usage: Usage = {
        inputTokens,
        outputTokens,
        totalTokens: inputTokens + outputTokens,
        cachedInputTokens: 0,
        cacheCreationInputTokens: 0,
        reasoningTokens: 0,
      };
      const query: Parameters<Pricing["cost"]>[0] = {
        provider: deployment.provider,
        model: deployment.model,
        usage,
      };
      if (deployment.baseModel) query.baseModel = deployment.baseModel;
      if (deployment.priceOverride) query.override = deployment.priceOverride;
      return pricing.cost(query).cost?.total ?? null;
    },
    contextWindow: (deployment) => {
      let window = contextWindows.get(deployment.id);
      if (window === undefined) {
        window =
          pricing.modelInfo?.(deployment.provider, deployment.baseModel ?? deployment.model)
            ?.maxInputTokens ?? 0;
        if (contextWindows.size < 10_000) contextWindows.set(deployment.id, window);
      }
      return window || undefined;
    },
    onCooldown: (event) => {
      logger.warn(
        `deployment '${event.deploymentId}' of '${event.modelGroup}' cooling down until ${new Date(event.until).toISOString()}`,
        { reason: event.reason },
      );
      engine.cooldown(event);
    },
    onDeploymentState: (state) => {
      for (const plugin of plugins) plugin.onDeploymentState?.(state);
    },
  });

  for (const plugin of options.plugins ?? []) addPlugin(plugin);
  const ready = connectSharedState()
    .then(() =>
      loadConfiguredPlugins(config, env, logger, {
        sharedState,
        gatewayOpen: !config.masterKey && !options.authorize,
      }),
    )
    .then((loaded) => {
      pricing.preload?.();
      for (const sink of loaded.sinks) {
        engine.add(sink);
        sinkCount++;
      }
      for (const plugin of loaded.plugins) addPlugin(plugin);
      for (const deployment of config.deployments) {
        for (const plugin of plugins) {
          plugin.onDeploymentState?.({
            modelGroup: deployment.modelGroup,
            deploymentId: deployment.id,
            provider: deployment.provider,
            model: deployment.model,
            state: "healthy",
          });
        }
      }
    });
  ready.catch(() => undefined);
  // read on every request: once start-up is done, no await (nor microtask) for it
  let readyDone = false;
  ready.then(
    () => {
      readyDone = true;
    },
    () => undefined,
  );
  // The tokenizer's tables load after start-up, off the request path, when the config counts tokens.
  if (countsTokens(config)) {
    ready.then(
      () => {
        for (const encoding of new Set(
          config.deployments.map((deployment) => encodingForModel(deployment.model)),
        ))
          setTimeout(() => void loadTokenizer(encoding), 0).unref();
      },
      () => undefined,
    );
  }

  if (!config.masterKey && !options.authorize && !options.quietOpenWarning) {
    logger.warn(
      "no general_settings.master_key and no authorize hook: the gateway is open to anyone who can reach it",
    );
  }

  const providerCall = (
    deployment: Deployment,
    abort: AbortSource,
    body: Record<string, unknown>,
  ): ProviderCall => {
    if (config.allowClientSideCredentials) {
      const apiBase = body.api_base ?? body.base_url;
      const apiKey = body.api_key;
      if (typeof apiBase === "string" || typeof apiKey === "string") {
        const copy: Deployment = { ...deployment };
        if (typeof apiBase === "string") copy.apiBase = apiBase.replace(/\/+$/, "");
        if (typeof apiKey === "string") copy.apiKey = apiKey;
        return new AttemptCall(copy, abort, http);
      }
    }
    return new AttemptCall(deployment, abort, http);
  };

  const stripCredentials = (body: Record<string, unknown>): Record<string, unknown> => {
    let any = false;
    for (const key of CREDENTIAL_KEYS) {
      if (body[key] !== undefined) {
        any = true;
        break;
      }
    }
    if (!any) return upstreamBody(body);
    const present = CREDENTIAL_KEYS.filter((key) => body[key] !== undefined);
    if (!config.allowClientSideCredentials) {
      throw new LlmuxError({
        kind: "bad_request",
        message: `'${present[0]}' may not be set by the caller: the gateway chooses the upstream and its credentials (general_settings.allow_client_side_credentials enables it)`,
        param: present[0]!,
        code: "client_credentials_not_allowed",
      });
    }
    return copyWithout(upstreamBody(body), new Set(present));
  };

  const failure = (run: CallRun, raw: unknown): LlmuxError => {
    let error = toLlmuxError(raw);
    const message = scrub(error.message);
    if (message !== error.message) {
      error = new LlmuxError({
        kind: error.kind,
        status: error.status,
        message,
        ...(error.provider ? { provider: error.provider } : {}),
        ...(error.upstreamStatus ? { upstreamStatus: error.upstreamStatus } : {}),
        ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
        code: error.code,
        param: error.param,
      });
    }
    if (error.kind === "internal")
      logger.error("internal error during a call", {
        callId: run.callId,
        error: scrub(String((raw as Error)?.stack ?? raw)),
      });
    run.fail(error);
    const last = run.attempts.at(-1);
    error.responseHeaders = {
      "x-llmux-call-id": run.callId,
      "x-llmux-attempts": String(run.attempts.length),
      "x-llmux-fallbacks": String(run.fallbacks),
      "x-llmux-overhead-ms": run.overheadMs().toFixed(2),
    };
    if (last) {
      error.responseHeaders["x-llmux-model-group"] = headerValue(last.modelGroup);
      error.responseHeaders["x-llmux-model-id"] = headerValue(last.deploymentId);
      error.responseHeaders["x-llmux-provider"] = last.provider;
    }
    return error;
  };

  /** The x-llmux-* headers of a served call; `openAttemptStart` when a stream's attempt is still running. */
  const baseHeaders = (
    run: CallRun,
    deployment: Deployment,
    attempts: number,
    openAttemptStart?: number,
  ): Record<string, string> => ({
    "x-llmux-call-id": run.callId,
    "x-llmux-model-group": headerValue(deployment.modelGroup),
    "x-llmux-model-id": headerValue(deployment.id),
    "x-llmux-provider": deployment.provider,
    "x-llmux-attempts": String(attempts),
    "x-llmux-fallbacks": String(run.fallbacks),
    "x-llmux-overhead-ms": run.overheadMs(openAttemptStart).toFixed(2),
  });

  /**
   * Ends a routed non-streaming call: finishes its attempt, prices it once, builds the x-llmux-*
   * headers (cost included) and delivers the final event; `describe` fills in what the event shows
   * of the response and runs only when something listens.
   */
  const settle = (
    run: CallRun,
    attempt: ActiveAttempt,
    usage: Usage | null,
    describe: (result: CallSuccess) => void,
  ): { headers: Record<string, string>; event: CallEvent | undefined } => {
    attempt.finish("success");
    const deployment = attempt.deployment;
    const cost = run.price(deployment, usage);
    const headers = baseHeaders(run, deployment, run.attempts.length);
    if (cost.cost) headers["x-llmux-response-cost"] = String(cost.cost.total);
    const result: CallSuccess = { deployment, usage, firstTokenTime: Date.now() };
    if (gateway.listening()) describe(result);
    return { headers, event: run.succeed(result, cost) };
  };

  const callDeps = {
    gateway: () => gateway,
    providerOf,
    providerCall,
    stripCredentials,
    failure,
    baseHeaders,
    settle,
    trackStream,
    cache: {
      plan: (callType: CachedCallType, input: CallInput, stream: boolean) =>
        cachePlan(callType, input, stream),
      store: () => responseCache,
      settleHit: (run: CallRun, entry: CacheEntry, describe: (result: CallSuccess) => void) =>
        settleHit(run, entry, describe),
      hitHeaders: (run: CallRun, entry: CacheEntry) => hitHeaders(run, entry),
      costOf: (headers: Record<string, string>) => costOf(headers),
    },
  };
  const clockNow = options.clock ? () => options.clock!.now() : Date.now;
  const memoryResponses = new MemoryResponseStore({ ...options.responseStore, clock: clockNow });
  // The control plane's database when a plugin offers one (known once `ready` resolved), else memory.
  const storedResponses = new ResponseStorage({
    ttlMs: options.responseStore?.ttlMs ?? 60 * 60 * 1000,
    clock: clockNow,
    logger,
    store: () => plugins.find((plugin) => plugin.responseStore)?.responseStore ?? memoryResponses,
  });
  const zeroCost: CostBreakdown = {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheCreation: 0,
    total: 0,
    currency: "USD",
  };
  /** A call's cache plan (undefined: the cache is off or the call not cacheable). */
  const cachePlan = (callType: CachedCallType, input: CallInput, stream: boolean): CachePlan | undefined => {
    if (!responseCache) return undefined;
    const model = String(input.body.model ?? "");
    return responseCache.plan(callType, router.resolveGroup(model) ?? model, input.body, stream);
  };
  /** The deployment that answered a cached entry and the headers of a hit (undefined: it is gone, a miss). */
  const hitHeaders = (
    run: CallRun,
    entry: CacheEntry,
  ): { deployment: Deployment; headers: Record<string, string> } | undefined => {
    const model = String(run.input.body.model ?? "");
    const deployment = router
      .deployments(router.resolveGroup(model) ?? model)
      .find((candidate) => candidate.id === entry.deploymentId);
    if (!deployment) return undefined;
    const headers = baseHeaders(run, deployment, 0);
    headers["x-llmux-cache"] = "hit";
    headers["x-llmux-response-cost"] = "0";
    if (entry.cost !== null) headers["x-llmux-cache-saved-cost"] = String(entry.cost);
    return { deployment, headers };
  };
  /** Serves a hit: no upstream call, cost 0 and the saving recorded, one call event marked as a hit. */
  const settleHit = (
    run: CallRun,
    entry: CacheEntry,
    describe: (result: CallSuccess) => void,
  ):
    | { deployment: Deployment; headers: Record<string, string>; event: CallEvent | undefined }
    | undefined => {
    const hit = hitHeaders(run, entry);
    if (!hit) return undefined;
    const { deployment, headers } = hit;
    const result: CallSuccess = {
      deployment,
      // a copy: the entry may be shared by hits
      usage: entry.usage && { ...entry.usage },
      firstTokenTime: Date.now(),
      cache: entry.cost === null ? { hit: true } : { hit: true, savedCost: entry.cost },
    };
    if (gateway.listening()) describe(result);
    return { deployment, headers, event: run.succeed(result, { cost: zeroCost }) };
  };
  const costOf = (headers: Record<string, string>): number | null => {
    const value = Number(headers["x-llmux-response-cost"]);
    return headers["x-llmux-response-cost"] !== undefined && Number.isFinite(value) ? value : null;
  };

  const gateway: Gateway = {
    get sharedState() {
      return sharedState;
    },
    get responseCache() {
      return responseCache;
    },
    config,
    router,
    engine,
    pricing,
    logger,
    tracers,
    afterCallHooks,
    ready,
    isReady: () => readyDone,
    options,
    scrub,
    ...createMessagesCalls(callDeps),
    storedResponses,
    ...createResponsesCalls({ ...callDeps, store: storedResponses }),
    listening: () => sinkCount > 0 || tracers.length > 0 || afterCallHooks.length > 0,
    wantsContent: () => sinkCount > 0 || tracers.length > 0 || contentHooks > 0,
    runAfterCall(run, event) {
      // One context per call, hooks called in turn: a synchronous hook costs no promise; a hook's
      // failure (thrown or rejected) is logged and never reaches the call or the other hooks.
      const context = {
        callId: run.callId,
        callType: run.input.callType,
        modelGroup: event.modelGroup,
        body: run.input.body,
        context: run.input.context,
        request: run.input.request,
        access: run.input.pluginAccess,
        state: run.input.hookState ?? {},
        event,
      };
      for (const hook of afterCallHooks) {
        try {
          const result = hook(context);
          if (isThenable(result)) result.then(undefined, afterCallFailed);
        } catch (error) {
          afterCallFailed(error);
        }
      }
    },
    routes: () => plugins.flatMap((plugin) => plugin.routes ?? []),
    rootPaths: () => [
      "/health/liveliness",
      "/health/readiness",
      ...plugins.flatMap((plugin) =>
        (plugin.routes ?? []).filter((route) => route.root === true).map((route) => route.path),
      ),
    ],
    plugins: () => plugins,
    addPlugin,
    newCallId: () => randomUUID(),

    runBeforeCall(context) {
      try {
        const body = gateway.beforeCall(context);
        return isThenable(body) ? body : Promise.resolve(body);
      } catch (error) {
        return Promise.reject(error);
      }
    },

    beforeCall(context) {
      let body = context.body;
      for (let index = 0; index < beforeCallHooks.length; index++) {
        const replaced = beforeCallHooks[index]!({ ...context, body });
        // the first hook that answers with a promise: it and the rest are awaited in turn
        if (isThenable(replaced)) return beforeCallRest(context, body, replaced, index + 1);
        if (replaced && typeof replaced === "object") body = replaced;
      }
      return body;
    },

    async chat(input) {
      const run = new CallRun(gateway, input);
      run.begin();
      try {
        const plan = cachePlan("chat", input, false);
        const cached = plan ? await responseCache!.get(plan) : undefined;
        if (cached?.body) {
          const answer = hitBody<ChatCompletion>(cached);
          const hit = settleHit(run, cached, (result) => describeCompletion(result, answer.body, run));
          if (hit) {
            const outcome: CallOutcome<ChatCompletion> = new HitOutcome(answer, hit.headers);
            if (hit.event) outcome.event = hit.event;
            return outcome;
          }
        }
        const body = stripCredentials(input.body) as ChatRequest;
        const routed = await router.route(
          run.routeRequest(String(input.body.model), () => estimatePromptTokens(input.body)),
          (attempt) =>
            providerOf(attempt.deployment).chat(
              paramsForDeployment(body, attempt.deployment, config.dropParams),
              providerCall(attempt.deployment, attempt, input.body),
            ),
        );
        const { completion, usage } = routed.value;
        const { headers, event } = settle(run, routed.attempt, usage, (result) => {
          describeCompletion(result, completion, run);
          if (plan) result.cache = { hit: false };
        });
        if (plan) {
          headers["x-llmux-cache"] = "miss";
          responseCache!.set(plan, {
            v: 1,
            callType: "chat",
            createdAt: Date.now(),
            deploymentId: routed.attempt.deployment.id,
            usage,
            cost: costOf(headers),
            body: completion as unknown as Record<string, unknown>,
          });
        }
        const outcome: CallOutcome<ChatCompletion> = { body: completion, headers };
        if (routed.value.raw !== undefined) outcome.raw = routed.value.raw;
        if (event) outcome.event = event;
        return outcome;
      } catch (raw) {
        throw failure(run, raw);
      }
    },

    async chatStream(input) {
      const run = new CallRun(gateway, input);
      run.begin();
      const includeUsage =
        (input.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      const present = (item: StreamItem, price: (usage: Usage) => number | null): StreamItem | undefined => {
        if (!item.usage) return item;
        if (item.usageOnly) {
          // The usage chunk (always requested upstream) reaches the client only when it asked, with the cost.
          if (!includeUsage) return undefined;
          return new UsageWithCostItem(item, price(item.usage));
        }
        if (includeUsage) return item;
        const { usage: _removed, ...rest } = item.chunk;
        return { chunk: rest };
      };
      try {
        const plan = cachePlan("chat", input, true);
        const cached = plan ? await responseCache!.get(plan) : undefined;
        if (cached?.items) {
          const replay = replayStream(run, cached, includeUsage, present);
          if (replay) return replay;
        }
        const body = stripCredentials(input.body) as ChatRequest;
        const routed = await router.route(
          run.routeRequest(String(input.body.model), () => estimatePromptTokens(input.body)),
          async (attempt) => {
            const call = providerCall(attempt.deployment, attempt, input.body);
            const iterator = await providerOf(attempt.deployment).chatStream(
              paramsForDeployment(body, attempt.deployment, config.dropParams),
              call,
            );
            return readFirstItem(iterator, attempt, attempt.deployment.timeoutMs ?? config.router.timeoutMs);
          },
        );
        // Nothing reads what the assembler gathers when no event is made (nothing listens).
        const assembler = run.listening
          ? new StreamAssembler(run.redacted || !gateway.wantsContent())
          : undefined;
        const produced = new ProducedText();
        const headers = baseHeaders(
          run,
          routed.attempt.deployment,
          run.attempts.length + 1,
          routed.attempt.startTime,
        );
        // a miss that may be stored keeps the upstream items (as sent, usage chunk included) to the end
        const kept: StreamItem[] | undefined = plan?.write ? [] : undefined;
        if (plan) headers["x-llmux-cache"] = "miss";
        const deployment = routed.attempt.deployment;
        const driven = driveStream<StreamItem>({
          run,
          routed,
          signal: input.clientAbort ?? input.signal,
          failure,
          track: trackStream,
          usageOf: (item) => item.usage,
          observe: (item) => {
            assembler?.addItem(item);
            kept?.push(
              item.usage
                ? { chunk: item.chunk, usage: item.usage, ...(item.usageOnly ? { usageOnly: true } : {}) }
                : { chunk: item.chunk },
            );
            produced.addItem(item);
          },
          describe: (result) => {
            assembler?.describe(result);
            if (!plan) return;
            result.cache = { hit: false };
            if (kept) {
              const cost = result.usage ? run.price(deployment, result.usage).cost?.total : undefined;
              responseCache!.set(plan, {
                v: 1,
                callType: "chat",
                createdAt: Date.now(),
                deploymentId: deployment.id,
                usage: result.usage,
                cost: cost ?? null,
                items: kept,
              });
            }
          },
          estimateUsage: () => produced.usage(input.body, deployment.model),
          present,
        });
        return new StreamOutcomeView(headers, driven);
      } catch (raw) {
        throw failure(run, raw);
      }
    },

    async embeddings(input) {
      const run = new CallRun(gateway, input);
      run.begin();
      try {
        const plan = cachePlan("embeddings", input, false);
        const cached = plan ? await responseCache!.get(plan) : undefined;
        if (cached?.body) {
          // the shared entry is only read here; the caller gets the text, or its own copy
          const response = cached.body;
          const answer = hitBody<Record<string, unknown>>(cached);
          const hit = settleHit(run, cached, (result) => {
            if (typeof response.model === "string") result.responseModel = response.model;
            result.response = { embeddings: (response.data as unknown[] | undefined)?.length ?? 0 };
          });
          if (hit) {
            const outcome: CallOutcome<Record<string, unknown>> = new HitOutcome(answer, hit.headers);
            if (hit.event) outcome.event = hit.event;
            return outcome;
          }
        }
        const body = stripCredentials(input.body) as EmbeddingRequest;
        const routed = await router.route(
          run.routeRequest(String(input.body.model), () => estimateTokens(input.body.input)),
          (attempt) =>
            providerOf(attempt.deployment).embeddings(
              body,
              providerCall(attempt.deployment, attempt, input.body),
            ),
        );
        const { response, usage } = routed.value;
        const { headers, event } = settle(run, routed.attempt, usage, (result) => {
          if (typeof response.model === "string") result.responseModel = response.model;
          result.response = { embeddings: response.data.length };
          if (plan) result.cache = { hit: false };
        });
        if (plan) {
          headers["x-llmux-cache"] = "miss";
          responseCache!.set(plan, {
            v: 1,
            callType: "embeddings",
            createdAt: Date.now(),
            deploymentId: routed.attempt.deployment.id,
            usage,
            cost: costOf(headers),
            body: response,
          });
        }
        const outcome: CallOutcome<Record<string, unknown>> = { body: response, headers };
        if (routed.value.raw !== undefined) outcome.raw = routed.value.raw;
        if (event) outcome.event = event;
        return outcome;
      } catch (raw) {
        throw failure(run, raw);
      }
    },

    models(allowed) {
      const created = Math.floor(Date.now() / 1000);
      wildcardNames ??= router.wildcards
        .patterns()
        .flatMap((group) =>
          router.wildcards.expand(group, (provider) => pricing.listModels?.(provider) ?? []),
        );
      return [...new Set([...router.modelGroups(), ...wildcardNames])]
        .filter((name) => modelAllowed(allowed, name))
        .map((id) => ({ id, object: "model" as const, created, owned_by: "llmux" }));
    },

    readiness() {
      const cooling = router.coolingDeployments().map(({ deployment, until }) => ({
        model_group: deployment.modelGroup,
        deployment: deployment.id,
        until: new Date(until).toISOString(),
      }));
      return {
        status: cooling.length === 0 ? "healthy" : "degraded",
        deployments: config.deployments.length,
        cooling,
      };
    },

    async flush() {
      await storedResponses.flush();
      await engine.flush();
      await Promise.all(
        plugins.map((plugin) =>
          plugin
            .flush?.()
            .catch((error) =>
              logger.warn("plugin flush failed", { plugin: plugin.name, error: String(error) }),
            ),
        ),
      );
    },

    beginShutdown(plan = {}) {
      if (shutdownPlan) return;
      shutdownPlan = { ...plan };
      if (plan.graceMs !== undefined) {
        const graceMs = plan.graceMs;
        shutdownPlan.graceTimer = setTimeout(
          () => {
            const ended = gateway.endStreams(
              `The gateway is shutting down: the stream was ended after the ${graceMs} ms grace period`,
            );
            if (ended > 0)
              logger.warn("shutdown: streams still running after the grace period were ended in-band", {
                streams: ended,
                graceMs,
              });
          },
          Math.max(0, graceMs),
        );
        shutdownPlan.graceTimer.unref();
      }
    },

    endStreams(message = "The gateway is shutting down: the stream was ended") {
      const ends = [...runningStreams];
      runningStreams.clear();
      const error = new LlmuxError({ kind: "unavailable", message, code: "gateway_shutting_down" });
      for (const end of ends) end(error);
      return ends.length;
    },

    async shutdown(shutdownOptions = {}) {
      const deadline = shutdownOptions.deadline ?? shutdownPlan?.deadline;
      if (shutdownPlan?.graceTimer) clearTimeout(shutdownPlan.graceTimer);
      await untilDeadline(storedResponses.flush(), deadline);
      await engine.shutdown({ deadline });
      await Promise.all(
        plugins.map((plugin) =>
          plugin
            .shutdown?.({ deadline })
            .catch((error) =>
              logger.warn("plugin shutdown failed", { plugin: plugin.name, error: String(error) }),
            ),
        ),
      );
      router.close();
      // the router's pending counts are written before the store closes
      await sharedRouterState?.close();
      await sharedState.close().catch(() => undefined);
      await responseCache?.close().catch(() => undefined);
      await http.close().catch(() => undefined);
    },
  };

  function describeCompletion(result: CallSuccess, completion: ChatCompletion, run: CallRun): void {
    if (typeof completion.model === "string") result.responseModel = completion.model;
    if (typeof completion.id === "string") result.responseId = completion.id;
    result.finishReasons = completion.choices.map((choice) => String(choice.finish_reason ?? ""));
    if (!run.redacted) result.response = completion.choices.map((choice) => choice.message);
  }

  /** A cached stream replayed as the live one was: the same chunks, usage shown only when asked, cost 0. */
  function replayStream(
    run: CallRun,
    entry: CacheEntry,
    includeUsage: boolean,
    present: (item: StreamItem, price: (usage: Usage) => number | null) => StreamItem | undefined,
  ): StreamOutcome | undefined {
    const hit = hitHeaders(run, entry);
    if (!hit) return undefined;
    // the entry may be shared by hits (see ResponseCache.parse): read here, never handed out
    const assembler = run.listening
      ? new StreamAssembler(run.redacted || !gateway.wantsContent())
      : undefined;
    if (assembler) for (const item of entry.items ?? []) assembler.add(item.chunk);
    const replay = replayCached({
      run,
      items: () => replayStreamItems(entry, includeUsage, present),
      failure,
      settle: () => settleHit(run, entry, (result) => assembler?.describe(result)),
    });
    const outcome: StreamOutcome = new StreamOutcomeView(hit.headers, replay);
    outcome.whole = { sse: replayedSse(entry, includeUsage, present), served: replay.served };
    return outcome;
  }

  function providerOf(deployment: Deployment): Provider {
    return providerFor(deployment.provider);
  }

  return gateway;
}

/** Header values must be Latin-1 without control characters: other names (e.g. CJK model names) are percent-encoded. */
function headerValue(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text);
}

/** Whether routing reads token counts: tpm limits, context windows, pre-call checks, cost or usage routing. */
function countsTokens(config: ResolvedConfig): boolean {
  const router = config.router;
  return (
    config.deployments.some(
      (deployment) => deployment.tpm !== undefined || deployment.maxInputTokens !== undefined,
    ) ||
    Object.keys(router.contextWindowFallbacks).length > 0 ||
    router.preCallChecks === true ||
    router.routingStrategy === "cost-based-routing" ||
    router.routingStrategy === "usage-based-routing"
  );
}

function isResolved(config: GatewayOptions["config"]): config is ResolvedConfig {
  return (
    typeof config === "object" && config !== null && Array.isArray((config as ResolvedConfig).deployments)
  );
}

export type { IncomingMessage };
