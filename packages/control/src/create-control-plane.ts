import type { IncomingMessage } from "node:http";
import type { LlmuxPlugin, Logger, PluginFactory } from "@llmux/callbacks";
import { durationMs } from "./duration";
import { Enforcer } from "./enforce/enforcer";
import { RecordCache } from "./enforce/record-cache";
import { authError } from "./errors";
import { MemoryCounters } from "./memory-counters";
import type { ControlContext } from "./routes/control-context";
import { keyRoutes } from "./routes/keys/index";
import { ApiError, type RouteKit } from "./routes/route-kit";
import { spendRoutes } from "./routes/spend/index";
import { teamRoutes } from "./routes/teams/index";
import { userRoutes } from "./routes/users/index";
import { SpendOrder } from "./spend/spend-order";
import { SpendWriter } from "./spend/spend-writer";
import { openStore } from "./store/open-store";
import { SpendOrderedStore } from "./store/spend-ordered-store";
import type { ControlPlaneOptions, ControlPlaneStats } from "./types";

const HOUR_MS = 3_600_000;

/** The control plane as a gateway plugin, plus what a host or a test may want to reach directly. */
export interface ControlPlane extends LlmuxPlugin {
  stats(): ControlPlaneStats;
  /** Writes the buffered spend now (rejects while the database is away; the rows stay buffered). */
  flushSpend(): Promise<void>;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Opens the store (running its migrations) and returns the plugin: the management routes, the virtual
 * key check (`authenticate`), the budget/limit hooks and the spend log writer.
 */
export async function createControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const logger = options.logger ?? silent;
  const now = options.now ?? Date.now;
  const ownStore = !options.store;
  const location = options.databaseUrl
    ? { databaseUrl: options.databaseUrl }
    : { dataDir: options.dataDir ?? "memory://" };
  const opened = options.store ?? (await openStore(location));
  // Record reads and spend batches of one key/user/team in order: the cached spend stays exact.
  const order = new SpendOrder();
  const store = new SpendOrderedStore(opened, order);
  const cache = new RecordCache(store, {
    ttlMs: options.cacheTtlMs ?? 10_000,
    now,
    onRefreshError: () =>
      logger.warn("control plane: refreshing a cached key/user/team failed; serving the cached one"),
  });
  const writerOptions: ConstructorParameters<typeof SpendWriter>[1] = {
    flushIntervalMs: options.flushIntervalMs ?? 1_000,
    logger,
    order,
    onCommitted: (kind, id, amount) => cache.addSpend(kind, id, amount),
  };
  if (options.maxBufferedSpendRows !== undefined) writerOptions.maxBuffered = options.maxBufferedSpendRows;
  const writer = new SpendWriter(opened, writerOptions);
  const enforcer = new Enforcer({
    cache,
    writer,
    state: options.sharedState ?? new MemoryCounters(now),
    logger,
    now,
  });

  const kit: RouteKit = {
    async requireAdmin(request: IncomingMessage, access: unknown) {
      if (access && typeof access === "object" && (access as { admin?: unknown }).admin === true) return;
      const token = presentedToken(request);
      if (token !== undefined) {
        if (options.isMasterKey?.(token)) return;
        const found = await enforcer.authenticate(token);
        if (found?.admin) return;
        if (found)
          throw new ApiError(
            401,
            "Only proxy admins (the master key or a proxy_admin user's key) may use the management API",
            "auth_error",
          );
      }
      if (options.openManagement) return;
      throw authError(
        token === undefined
          ? "Authentication Error - No api key passed in."
          : "Authentication Error - Invalid proxy server token passed.",
      );
    },
    onError(error) {
      if (isDatabaseError(error))
        return new ApiError(
          503,
          "The control plane database is unavailable; try again later",
          "no_db_connection",
        );
      if (isUniqueViolation(error))
        return new ApiError(400, "A record with this id or alias already exists", "bad_request_error");
      return undefined;
    },
  };
  const control: ControlContext = {
    store,
    cache,
    kit,
    now,
    pendingSpend: (kind, id) => writer.pending(kind, id),
  };

  const retentionMs = durationMs(options.retention);
  const maintenance = async () => {
    try {
      await store.resetBudgets();
      cache.expireAll();
      const expired = await store.responses.deleteExpired();
      if (expired > 0) logger.debug("control plane: expired stored responses deleted", { rows: expired });
      if (retentionMs !== undefined) {
        const removed = await store.deleteSpendLogsBefore(new Date(now() - retentionMs));
        if (removed > 0) logger.info("control plane: old spend logs deleted", { rows: removed });
      }
      await store.maintain();
    } catch {
      // the database is away: the next round tries again
    }
    enforcer.sweep();
  };
  const timer = setInterval(() => void maintenance(), Math.min(HOUR_MS, 60_000));
  timer.unref();
  void maintenance();

  return {
    name: "control",
    routes: [...keyRoutes(control), ...userRoutes(control), ...teamRoutes(control), ...spendRoutes(control)],
    // keyHash: the gateway's SHA-256 of the token (it hashed it for the master-key check already).
    authenticate: (token, _request, keyHash) => enforcer.authenticate(token, keyHash),
    // previous_response_id and GET/DELETE /v1/responses/{id} in the database, shared by instances.
    responseStore: store.responses,
    hooks: {
      beforeCall: (context) => enforcer.beforeCall(context),
      afterCall: (context) => enforcer.afterCall(context),
      // The spend row reads the outcome (usage, cost, ids), never the prompt or response.
      afterCallReadsContent: false,
    },
    stats() {
      const stats = writer.stats();
      return {
        store: store.kind,
        spendRowsBuffered: stats.buffered,
        spendRowsWritten: stats.written,
        spendRowsDropped: stats.dropped,
        spendWriteErrors: stats.errors,
        databaseDegraded: stats.degraded,
      };
    },
    flushSpend: () => writer.flush(),
    flush: () => writer.flush().catch(() => undefined),
    async shutdown() {
      clearInterval(timer);
      await writer.close();
      if (ownStore) await store.close();
    },
  };
}

/**
 * What the gateway calls when the config names a database (general_settings.database_url, DATABASE_URL
 * or general_settings.key_store). LiteLLM's general_settings keys: user_api_key_cache_ttl (s),
 * proxy_batch_write_at (s), maximum_spend_logs_retention_period ("30d").
 */
export const createPlugin: PluginFactory = async (_name, context) => {
  const general = context.generalSettings ?? {};
  const databaseUrl = stringSetting(general.database_url) ?? context.env.DATABASE_URL;
  const options: ControlPlaneOptions = { logger: context.logger };
  if (databaseUrl) options.databaseUrl = databaseUrl;
  else options.dataDir = stringSetting(general.key_store) ?? "memory://";
  if (context.isMasterKey) options.isMasterKey = context.isMasterKey;
  if (context.gatewayOpen) {
    options.openManagement = true;
    context.logger.warn(
      "control plane: no general_settings.master_key, so the management API (/key, /user, /team, /spend) is open to anyone who can reach the gateway",
    );
  }
  if (context.sharedState) options.sharedState = context.sharedState;
  const ttl = Number(general.user_api_key_cache_ttl);
  if (Number.isFinite(ttl) && ttl > 0) options.cacheTtlMs = ttl * 1000;
  const batch = Number(general.proxy_batch_write_at);
  if (Number.isFinite(batch) && batch > 0) options.flushIntervalMs = batch * 1000;
  const retention = stringSetting(general.maximum_spend_logs_retention_period);
  if (retention) options.retention = retention;
  const plane = await createControlPlane(options);
  context.logger.info(`control plane on (${databaseUrl ? "PostgreSQL" : `PGlite ${options.dataDir}`})`);
  return plane;
};

function stringSetting(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function presentedToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === "string" && header.toLowerCase().startsWith("bearer ")) return header.slice(7).trim();
  const apiKey = request.headers["x-api-key"];
  return typeof apiKey === "string" ? apiKey : undefined;
}

/** Connection failures of pg/PGlite (refused, reset, terminated, timeout, admin shutdown, closed or closing). */
function isDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  const message = String((error as Error)?.message ?? "");
  return (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "57P01" ||
    code === "57P03" ||
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|closed|PGlite is closing/i.test(
      message,
    )
  );
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "23505";
}
