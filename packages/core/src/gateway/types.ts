import type { IncomingMessage } from "node:http";
import type { CallbackSink, CallContext, LlmuxPlugin, Logger, RequestHooks } from "@llmux/callbacks";
import type { Pricing } from "@llmux/pricing";
import type { LlmuxConfig, ResolvedConfig } from "../config/types";
import type { Provider } from "../providers/types";
import type { Clock, RouterState } from "../router/router-state";
import type { RoutingStrategy } from "../router/strategies";
import type { SharedState } from "../state/shared-state";

/**
 * What `authorize` may return: false/throw to refuse, true to allow, or context to attach to the call.
 * `admin: true` also opens the "admin" routes (which otherwise need the master key when one is set).
 */
export type AuthorizeResult =
  | boolean
  | (Partial<Pick<CallContext, "user" | "team" | "tags" | "metadata">> & {
      allowedModels?: string[];
      admin?: boolean;
    });

export interface GatewayOptions {
  /** A config object (LiteLLM keys), a path to a YAML file, or an already resolved config. */
  config: LlmuxConfig | string | ResolvedConfig;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /**
   * The host's own auth instead of (or besides) general_settings.master_key. Called for every /v1 request;
   * return false or throw to refuse with 401.
   */
  authorize?: (request: IncomingMessage) => AuthorizeResult | Promise<AuthorizeResult>;
  /** Takes user, team, session and tags from the host's own request context (its auth, its session). */
  resolveContext?: (
    request: IncomingMessage,
  ) => Partial<CallContext> | undefined | Promise<Partial<CallContext> | undefined>;
  hooks?: RequestHooks[];
  /** Sinks added to those named in the config. */
  sinks?: CallbackSink[];
  /** Plugins added to those named in the config (e.g. prometheusPlugin({ registry })). */
  plugins?: LlmuxPlugin[];
  pricing?: Pricing;
  /** Extra or replacement providers by prefix. */
  providers?: Record<string, Provider>;
  routerState?: RouterState;
  /**
   * The store shared by gateway instances (counters, in-flight counts, cooldowns). Default: the one
   * configured (Redis via @llmux/redis, see docs/scaling.md) or an in-process MemorySharedState.
   */
  sharedState?: SharedState;
  clock?: Clock;
  random?: () => number;
  strategy?: RoutingStrategy;
  /**
   * How long (default 1 hour) Responses API answers are kept for `previous_response_id` and GET/DELETE
   * /v1/responses/{id}, and how many (default 10,000 responses, 64 MiB) when kept in memory (no
   * control plane database configured).
   */
  responseStore?: { ttlMs?: number; maxEntries?: number; maxChars?: number };
  /** Skip the start-up warning when the gateway has no auth (the host protects the mount itself). */
  quietOpenWarning?: boolean;
}

export type { CallContext };
