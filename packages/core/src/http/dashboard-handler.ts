import type { IncomingMessage, ServerResponse } from "node:http";
import type { LlmuxPlugin, Logger, PluginRoute } from "@llmux/callbacks";
import { LlmuxError } from "../errors/llmux-error";
import type { Gateway } from "../gateway/create-gateway";
import { importOptional } from "../gateway/import-optional";
import { authenticate } from "./authenticate";
import { sendError } from "./create-handler";

/** What the adapters mount: resolves false for a path that is not the dashboard's. */
export type DashboardHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  parsedBody?: unknown,
) => Promise<boolean>;

/** The part of @llmux/dashboard the core uses (imported by name at run time, never type-checked against). */
interface DashboardModule {
  createDashboard(
    host: {
      authenticate(request: IncomingMessage): Promise<unknown>;
      addPlugin(plugin: LlmuxPlugin): void;
      redact: boolean;
      deployments(): Array<{
        modelGroup: string;
        deploymentId: string;
        provider: string;
        model: string;
        rpm?: number;
        tpm?: number;
        maxParallelRequests?: number;
      }>;
      cooling(): Array<{ deploymentId: string; until: number }>;
      inFlight(deploymentId: string): number;
      routes(): PluginRoute[];
      logger: Logger;
    },
    options?: Record<string, unknown>,
  ): { handle(request: IncomingMessage, response: ServerResponse, parsedBody?: unknown): Promise<boolean> };
}

type DashboardHandle = ReturnType<DashboardModule["createDashboard"]>["handle"];

/** One dashboard per gateway, however many adapters or mounts ask for it (one ring buffer, one plugin). */
const dashboards = new WeakMap<Gateway, Promise<DashboardHandle>>();

/**
 * The handler of the built-in dashboard (@llmux/dashboard, an optional package), for an adapter to
 * mount where the host likes (`app.use("/llmux", gateway.dashboard)`). The package is loaded and its
 * plugin registered with the gateway when this is first called, so a gateway that never mounts the
 * dashboard keeps no call history. Every data endpoint passes the admin check of the management
 * routes (the master key, or an admin key from the host's authorize hook), and with neither configured
 * the data stays closed; the page itself holds no data. Resolves false for paths that are not the
 * dashboard's.
 */
export function createDashboardHandler(gateway: Gateway): DashboardHandler {
  let loading = dashboards.get(gateway);
  if (!loading) {
    // Registered now, so the calls made while the package loads are not missed.
    const deferred = deferredPlugin();
    gateway.addPlugin(deferred.plugin);
    loading = importOptional<DashboardModule>("@llmux/dashboard").then((module) => {
      const dashboard = module.createDashboard({
        authenticate: async (request) => {
          if (!gateway.config.masterKey && !gateway.options.authorize) {
            // An open gateway does not make an open dashboard: call content and keys stay private.
            throw new LlmuxError({
              kind: "authentication",
              message:
                "The dashboard's data needs general_settings.master_key or the host's authorize hook (see docs/dashboard.md)",
              code: "dashboard_auth_not_configured",
            });
          }
          // The management routes' check: the master key, or an authorize result with admin: true.
          return authenticate(request, gateway.config.masterKey, gateway.options.authorize, "admin");
        },
        addPlugin: (plugin) => deferred.attach(plugin),
        redact: gateway.config.redact,
        deployments: () =>
          gateway.config.deployments.map((deployment) => {
            const info: ReturnType<Parameters<DashboardModule["createDashboard"]>[0]["deployments"]>[number] =
              {
                modelGroup: deployment.modelGroup,
                deploymentId: deployment.id,
                provider: deployment.provider,
                model: deployment.model,
              };
            if (deployment.rpm !== undefined) info.rpm = deployment.rpm;
            if (deployment.tpm !== undefined) info.tpm = deployment.tpm;
            if (deployment.maxParallelRequests !== undefined)
              info.maxParallelRequests = deployment.maxParallelRequests;
            return info;
          }),
        cooling: () =>
          gateway.router
            .coolingDeployments()
            .map(({ deployment, until }) => ({ deploymentId: deployment.id, until })),
        inFlight: (deploymentId) => gateway.router.inFlight(deploymentId),
        routes: () => gateway.routes(),
        logger: gateway.logger,
      });
      return dashboard.handle.bind(dashboard);
    });
    loading.catch(() => undefined);
    dashboards.set(gateway, loading);
  }
  const ready = loading;
  return async (request, response, parsedBody) => {
    let handle: DashboardHandle;
    try {
      await gateway.ready;
      handle = await ready;
    } catch (error) {
      sendError(
        response,
        new LlmuxError({
          kind: "not_found",
          status: 501,
          message: `The dashboard needs the package @llmux/dashboard: npm install @llmux/dashboard (${(error as Error).message})`,
          code: "dashboard_not_installed",
        }),
        "openai",
        gateway.scrub,
      );
      return true;
    }
    return handle(request, response, parsedBody);
  };
}

const MAX_PENDING = 1_000;

/**
 * A plugin standing in for the dashboard's until its package is loaded: it keeps what arrives
 * meanwhile (bounded) and then hands everything to the real plugin, which it forwards to from then on.
 */
function deferredPlugin(): { plugin: LlmuxPlugin; attach(real: LlmuxPlugin): void } {
  let target: LlmuxPlugin | undefined;
  let engine: Parameters<NonNullable<LlmuxPlugin["observeEngine"]>>[0] | undefined;
  const pending: Array<(real: LlmuxPlugin) => void> = [];
  const later = (deliver: (real: LlmuxPlugin) => void) => {
    if (target) deliver(target);
    else if (pending.length < MAX_PENDING) pending.push(deliver);
  };
  const plugin: LlmuxPlugin = {
    name: "dashboard",
    sink: {
      name: "dashboard",
      queueSize: 2_000,
      onSuccess: (event) => later((real) => real.sink?.onSuccess?.(event)),
      onFailure: (event) => later((real) => real.sink?.onFailure?.(event)),
      onCooldown: (event) => later((real) => real.sink?.onCooldown?.(event)),
    },
    observeEngine(source) {
      engine = source;
      target?.observeEngine?.(source);
    },
    onDeploymentState: (state) => later((real) => real.onDeploymentState?.(state)),
  };
  return {
    plugin,
    attach(real) {
      target = real;
      if (engine) real.observeEngine?.(engine);
      for (const deliver of pending.splice(0)) deliver(real);
    },
  };
}
