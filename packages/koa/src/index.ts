import type { IncomingMessage, ServerResponse } from "node:http";
import {
  bodyParserFailure,
  createDashboardHandler,
  createGateway,
  createHandler,
  type Gateway,
  type GatewayOptions,
  hostParsedBody,
  sendError,
} from "@llmux/core";

/** The part of a Koa 2 or 3 context the adapter uses (so any Koa version's types fit). */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  request: { body?: unknown };
  respond?: boolean;
}

export type KoaNext = () => Promise<unknown>;
export type KoaMiddleware = (context: KoaContextLike, next: KoaNext) => Promise<void>;

export interface LlmuxKoaOptions {
  /**
   * Serve only under this path and strip it before routing, e.g. "/v1": `app.use(llmux(config, { prefix: "/v1" }))`.
   * Not needed under koa-mount (it strips the mount path itself) or for "/v1" paths routed by @koa/router.
   */
  prefix?: string;
  /**
   * Where `gateway.dashboard` serves the built-in dashboard (needs @llmux/dashboard). Default "/llmux";
   * "" under koa-mount, which strips the mount path itself.
   */
  dashboardPath?: string;
}

/** Koa middleware with the gateway it serves (for flush/shutdown and in-process calls). */
export interface LlmuxKoaMiddleware extends KoaMiddleware {
  readonly gateway: Gateway;
  /**
   * Place before a body parser that runs ahead of the gateway: turns its failures (malformed JSON, body too
   * large) on the gateway's paths into OpenAI-format 400/413 answers. Not needed when llmux comes first.
   */
  readonly errorHandler: KoaMiddleware;
  /**
   * The built-in dashboard at `dashboardPath` ("/llmux" by default): `app.use(gateway.dashboard)`.
   * Created on first access; its data endpoints need the master key (or an admin key). See docs/dashboard.md.
   */
  readonly dashboard: KoaMiddleware;
}

/**
 * Mounts llmux on Koa 2 or 3. Paths it does not serve go to `next()`. The response is written straight to
 * the Node socket (`ctx.respond = false`), so streams are never buffered. Works with or without
 * koa-bodyparser / @koa/bodyparser before it.
 */
export function llmux(options: GatewayOptions | Gateway, settings: LlmuxKoaOptions = {}): LlmuxKoaMiddleware {
  const gateway = isGateway(options) ? options : createGateway(options);
  const handle = createHandler(gateway);
  const prefix = settings.prefix?.replace(/\/+$/, "") ?? "";
  const inScope = (path: string) => !prefix || path === prefix || path.startsWith(`${prefix}/`);

  // Named for the host's traces (Koa instrumentation names middleware spans after the function).
  const llmuxGateway: KoaMiddleware = async (context, next) => {
    if (!inScope(context.path)) return void (await next());
    const request = context.req;
    const original = request.url ?? "/";
    if (prefix) request.url = original.slice(prefix.length) || "/";
    let handled: boolean;
    try {
      handled = await handle(request, context.res, hostParsedBody(request, context.request.body));
    } finally {
      request.url = original;
    }
    if (handled) context.respond = false;
    else await next();
  };

  const errorHandler: KoaMiddleware = async (context, next) => {
    if (!inScope(context.path)) return void (await next());
    try {
      await next();
    } catch (error) {
      const failure = bodyParserFailure(error);
      if (!failure) throw error;
      context.respond = false;
      sendError(context.res, failure, "openai", gateway.scrub);
    }
  };

  let dashboard: KoaMiddleware | undefined;
  const dashboardMiddleware = (): KoaMiddleware => {
    if (dashboard) return dashboard;
    const handleDashboard = createDashboardHandler(gateway);
    const path = settings.dashboardPath?.replace(/\/+$/, "") ?? "/llmux";
    const llmuxDashboard: KoaMiddleware = async (context, next) => {
      if (path && context.path !== path && !context.path.startsWith(`${path}/`)) return void (await next());
      const request = context.req;
      const original = request.url ?? "/";
      if (path && context.path === path) {
        // The page's relative URLs need the trailing slash.
        context.respond = false;
        context.res.writeHead(308, { location: `${path}/${original.slice(path.length)}` });
        context.res.end();
        return;
      }
      if (path) request.url = original.slice(path.length) || "/";
      let handled: boolean;
      try {
        handled = await handleDashboard(request, context.res, hostParsedBody(request, context.request.body));
      } finally {
        request.url = original;
      }
      if (handled) context.respond = false;
      else await next();
    };
    dashboard = llmuxDashboard;
    return dashboard;
  };
  return Object.defineProperty(Object.assign(llmuxGateway, { gateway, errorHandler }), "dashboard", {
    get: dashboardMiddleware,
    enumerable: true,
  }) as LlmuxKoaMiddleware;
}

/** koa-bodyparser, @koa/bodyparser and koa-body (co-body / raw-body) errors, recognised by shape. */

function isGateway(value: GatewayOptions | Gateway): value is Gateway {
  return typeof (value as Gateway).chat === "function" && typeof (value as Gateway).router === "object";
}

export type { Gateway, GatewayOptions };
